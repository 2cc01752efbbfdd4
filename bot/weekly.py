"""The Monday team report: who scored, who improved, what the team keeps missing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from bot.daily import Ranked, rank
from bot.knowledge_base import Concept, KnowledgeBase, Question


@dataclass(frozen=True)
class WeeklyReportView:
    """One channel's week in numbers, ready to render."""

    team_id: str
    channel_id: str
    week_start: date
    top: tuple[Ranked, ...]
    improved: tuple[tuple[str, int], ...]  # user, points gained over the week before
    missed: tuple[tuple[Concept, int, int], ...]  # concept, wrong answers, answers
    hardest: tuple[Question, int, int] | None  # question, right answers, answers
    participants: int
    answers: int
    questions: int


def build_report(
    kb: KnowledgeBase,
    team_id: str,
    channel_id: str,
    week_start: date,
    week_points: list[tuple[str, int]],
    previous_points: dict[str, int],
    answers: Iterable[tuple[str, str, bool, int]],
    questions: int,
) -> WeeklyReportView:
    """Assemble the report from the week's points and answers (user, question, right, post)."""
    rows = list(answers)
    top = tuple(r for r in rank(week_points) if r.rank <= 3)
    improved = sorted(
        (
            (u, p - previous_points.get(u, 0))
            for u, p in week_points
            if p - previous_points.get(u, 0) > 0
        ),
        key=lambda x: (-x[1], x[0]),
    )[:3]
    per_concept: dict[str, list[int]] = {}
    per_post: dict[int, list[int]] = {}
    question_of: dict[int, str] = {}
    for _user, question_id, correct, post_id in rows:
        question = kb.questions.get(question_id)
        if question is None:
            continue
        wrong_total = per_concept.setdefault(question.concepts[0], [0, 0])
        wrong_total[0] += int(not correct)
        wrong_total[1] += 1
        right_total = per_post.setdefault(post_id, [0, 0])
        right_total[0] += int(correct)
        right_total[1] += 1
        question_of[post_id] = question_id
    missed = tuple(
        sorted(
            ((kb.concepts[c], w, n) for c, (w, n) in per_concept.items() if w and c in kb.concepts),
            key=lambda x: (-x[1] / x[2], -x[1], x[0].id),
        )[:3]
    )
    hardest = None
    if per_post:
        post_id = min(per_post, key=lambda p: (per_post[p][0] / per_post[p][1], -per_post[p][1], p))
        right, total = per_post[post_id]
        hardest = (kb.questions[question_of[post_id]], right, total)
    return WeeklyReportView(
        team_id,
        channel_id,
        week_start,
        top,
        tuple(improved),
        missed,
        hardest,
        len({r[0] for r in rows}),
        len(rows),
        questions,
    )
