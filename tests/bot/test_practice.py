"""Spaced repetition: missed questions come back sooner, known ones later (FSRS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot import practice
from bot.core import Core
from bot.knowledge_base import KnowledgeBase
from bot.library import Library
from bot.practice_service import PracticeService
from bot.results import Caller, Notice, PracticeQuestion
from tests.fakes.clock import Clock
from tests.fakes.recording_channel import RecordingChannel

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ME = Caller("T1", "U1", "C1")


def test_intervals_grow_with_each_success() -> None:
    card = None
    now = T0
    intervals = []
    for _ in range(6):
        card = practice.review(card, "q", True, now)
        intervals.append(card.due - now)
        now = card.due
    assert intervals[-1] > intervals[2] > intervals[0]
    assert intervals[-1] >= timedelta(days=7)


def test_a_miss_comes_back_sooner_than_a_success() -> None:
    known = practice.review(
        practice.review(None, "a", True, T0), "a", True, T0 + timedelta(minutes=10)
    )
    known = practice.review(known, "a", True, known.due)
    missed = practice.review(known, "a", False, known.due)
    again = practice.review(known, "a", True, known.due)
    assert missed.due - known.due < again.due - known.due
    assert missed.lapses == 1 and again.lapses == 0


def test_pick_prefers_due_then_new_then_ahead(kb: KnowledgeBase) -> None:
    ids = sorted(kb.questions)
    overdue = practice.review(None, ids[0], False, T0)  # due in about a minute
    later = practice.review(
        practice.review(None, ids[1], True, T0), ids[1], True, T0 + timedelta(minutes=20)
    )
    now = T0 + timedelta(hours=1)
    assert practice.pick(kb, [later, overdue], now, "s").id == ids[0]
    fresh = practice.pick(kb, [later], now, "s")
    assert fresh is not None and fresh.id not in (ids[0], ids[1])


def test_new_questions_are_rationed_per_day(kb: KnowledgeBase) -> None:
    ids = sorted(kb.questions)
    seen = []
    now = T0
    for qid in ids[: practice.NEW_PER_DAY]:
        card = practice.review(None, qid, True, now)
        card = practice.review(card, qid, True, card.due)  # graduates to days away
        seen.append(card)
    now = T0 + timedelta(hours=1)
    nxt = practice.pick(kb, seen, now, "s")
    assert nxt is not None and nxt.id in {c.question_id for c in seen}  # reviews ahead
    tomorrow = practice.pick(kb, seen, T0 + timedelta(days=1, hours=-8), "s")
    assert tomorrow is not None and tomorrow.id not in {c.question_id for c in seen}


def test_mastery_and_due_counts(kb: KnowledgeBase) -> None:
    question = next(iter(kb.questions.values()))
    card = practice.review(None, question.id, True, T0)
    rows = practice.mastery(kb, [card], T0 + timedelta(minutes=5))
    assert rows[0][0] == question.concepts[0] and 0 < rows[0][1] <= 1
    assert practice.due_count([card], T0) == 0
    assert practice.due_count([card], T0 + timedelta(days=1)) == 1


@pytest.fixture
def svc(sessions: sessionmaker[Session], kb: KnowledgeBase) -> tuple[PracticeService, Clock]:
    clock = Clock(T0)
    return PracticeService(sessions, Library(lambda: kb), clock), clock


def test_service_brings_a_missed_question_back_before_a_known_one(
    svc: tuple[PracticeService, Clock], kb: KnowledgeBase
) -> None:
    service, clock = svc
    first = service.next_question(ME)
    second = service.next_question(
        ME, exclude=first.question.id if isinstance(first, PracticeQuestion) else None
    )
    assert isinstance(first, PracticeQuestion) and isinstance(second, PracticeQuestion)
    missed, known = first.question, second.question
    service.answer(ME, missed.id, (missed.answer_index + 1) % len(missed.choices))
    service.answer(ME, known.id, known.answer_index)
    clock.now = T0 + timedelta(minutes=30)
    nxt = service.next_question(ME)
    assert isinstance(nxt, PracticeQuestion) and nxt.question.id == missed.id
    progress = service.progress(ME)
    assert progress.seen == 2 and progress.due >= 1
    assert progress.mastery[0][0].id == missed.concepts[0] or progress.mastery[0][1] < 0.5


def test_service_rejects_forged_answers(svc: tuple[PracticeService, Clock]) -> None:
    service, _clock = svc
    assert isinstance(service.answer(ME, "no-such-question", 0), Notice)
    assert service.progress(ME).seen == 0


def test_each_person_has_their_own_schedule(
    svc: tuple[PracticeService, Clock], kb: KnowledgeBase
) -> None:
    service, _clock = svc
    q = next(iter(kb.questions.values()))
    service.answer(ME, q.id, q.answer_index)
    other = Caller("T1", "U2", "C1")
    assert service.progress(other).seen == 0
    assert service.progress(Caller("T2", "U1", "C1")).seen == 0


def test_a_concept_missed_every_time_never_ranks_above_one_answered_right(
    svc: tuple[PracticeService, Clock], kb: KnowledgeBase
) -> None:
    service, clock = svc
    by_concept: dict[str, list[str]] = {}
    for q in sorted(kb.questions.values(), key=lambda q: q.id):
        by_concept.setdefault(q.concepts[0], []).append(q.id)
    missed_concept, right_concept = [c for c, qs in by_concept.items() if len(qs) >= 3][:2]
    for qid in by_concept[missed_concept][:3]:  # three questions, each answered wrong
        q = kb.questions[qid]
        service.answer(ME, qid, (q.answer_index + 1) % len(q.choices))
    right = kb.questions[by_concept[right_concept][0]]  # one question, answered right
    service.answer(ME, right.id, right.answer_index)
    clock.now = T0 + timedelta(minutes=1)
    levels = {m.concept.id: m for m in service.progress(ME).mastery}
    assert levels[missed_concept].level == 0.0 and levels[missed_concept].missed == 3
    assert levels[right_concept].level > 0.0 and levels[right_concept].missed == 0
    # seeing only part of a concept counts for part of it
    assert levels[right_concept].level <= 1 / len(by_concept[right_concept]) + 1e-9
    assert service.progress(ME).mastery[0].concept.id == missed_concept  # weakest first


def test_the_home_weakest_list_holds_only_concepts_missed_last_time(
    sessions: sessionmaker[Session], kb: KnowledgeBase
) -> None:
    core = Core(Library(lambda: kb), sessions, RecordingChannel(), clock=Clock(T0))
    questions = sorted(kb.questions.values(), key=lambda q: q.id)
    right, wrong = (
        questions[0],
        next(q for q in questions if q.concepts[0] != questions[0].concepts[0]),
    )
    core.practice.answer(ME, right.id, right.answer_index)
    assert core.progress.dashboard(ME.team_id, ME.user_id).weakest == ()
    core.practice.answer(ME, wrong.id, (wrong.answer_index + 1) % len(wrong.choices))
    weakest = core.progress.dashboard(ME.team_id, ME.user_id).weakest
    assert [m.concept.id for m in weakest] == [wrong.concepts[0]]
