"""The Monday team report: who scored, who improved, what the team keeps missing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from bot.knowledge_base import Concept, KnowledgeBase, Question
from bot.results import Gap
from bot.scoring import Ranked, rank
from bot.storage.answers import WeekAnswer
from bot.storage.scores import Points


class Gain(NamedTuple):
    """Points gained over the week before."""

    user_id: str
    gain: int


class Missed(NamedTuple):
    """A concept the team got wrong."""

    concept: Concept
    wrong: int
    answers: int


class Hardest(NamedTuple):
    """The question the fewest got right."""

    question: Question
    right: int
    answers: int


@dataclass(frozen=True)
class WeeklyReportView:
    """One channel's week in numbers, ready to render."""

    team_id: str
    channel_id: str
    week_start: date
    top: tuple[Ranked, ...]
    improved: tuple[Gain, ...]
    missed: tuple[Missed, ...]
    hardest: Hardest | None
    participants: int
    answers: int
    questions: int
    unanswered: tuple[Gap, ...] = ()  # the team's most asked questions the bot missed


def build_report(
    kb: KnowledgeBase,
    team_id: str,
    channel_id: str,
    week_start: date,
    week_points: list[Points],
    previous_points: dict[str, int],
    answers: Iterable[WeekAnswer],
    questions: int,
) -> WeeklyReportView:
    """Assemble the report from the week's points and daily answers."""
    rows = list(answers)
    top = tuple(r for r in rank(week_points) if r.rank <= 3)
    gains = (Gain(u, p - previous_points.get(u, 0)) for u, p in week_points)
    improved = sorted((g for g in gains if g.gain > 0), key=lambda g: (-g.gain, g.user_id))[:3]
    per_concept: dict[str, list[int]] = {}
    per_post: dict[int, list[int]] = {}
    question_of: dict[int, str] = {}
    for row in rows:
        question = kb.questions.get(row.question_id)
        if question is None:
            continue
        wrong_total = per_concept.setdefault(question.concepts[0], [0, 0])
        wrong_total[0] += int(not row.correct)
        wrong_total[1] += 1
        right_total = per_post.setdefault(row.post_id, [0, 0])
        right_total[0] += int(row.correct)
        right_total[1] += 1
        question_of[row.post_id] = row.question_id
    missed = tuple(
        sorted(
            (
                Missed(kb.concepts[c], w, n)
                for c, (w, n) in per_concept.items()
                if w and c in kb.concepts
            ),
            key=lambda m: (-m.wrong / m.answers, -m.wrong, m.concept.id),
        )[:3]
    )
    hardest = None
    if per_post:
        post_id = min(per_post, key=lambda p: (per_post[p][0] / per_post[p][1], -per_post[p][1], p))
        right, total = per_post[post_id]
        hardest = Hardest(kb.questions[question_of[post_id]], right, total)
    return WeeklyReportView(
        team_id,
        channel_id,
        week_start,
        top,
        tuple(improved),
        missed,
        hardest,
        len({r.user_id for r in rows}),
        len(rows),
        questions,
    )
