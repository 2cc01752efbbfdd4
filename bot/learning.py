"""Lookup that learns from the people who use it.

When no answer is confident, people pick one of the suggestions or say "None of these".
A pick is recorded per team as (normalised query -> concept, who). When two different
people of a team pick the same concept for the same query, or one admin does, the query
becomes a *team alias*: from then on it answers that concept directly for everyone in
that team, in every process (each keeps the aliases in memory and reloads them within
seconds of a change, recorded in shared_state). An alias never changes another team's
answers and never overrides the numeral guard: "type 2" never answers type 1.

Unanswered queries and "None of these" are kept RETENTION days for `/virtsec gaps` and
the weekly report; the scheduler deletes older ones. They are written by a background
thread, so a lookup never waits on the database."""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.commands import shown
from bot.library import KnowledgeSource
from bot.lookup import LookupResult, Match
from bot.lookup_text import normalize, topic_words
from bot.results import Caller, Gap, GapsResult, LookupReply, Notice, Picked
from bot.storage.lookups import MAX_TEXT, Event, LookupLedger
from bot.storage.shared import read_shared, record_shared
from bot.study import GONE, Study

logger = logging.getLogger(__name__)

RETENTION = timedelta(days=90)
GAPS_WINDOW = timedelta(days=30)
GAPS_SHOWN = 10
REPORTED_GAPS = 3  # in the weekly report
PICKERS_TO_LEARN = 2
VERSION_KEY = "team_aliases"
NONE_OF_THESE = (
    "Thanks, noted. Your workspace's admins see the questions I could not answer with "
    "`/virtsec gaps`. Meanwhile, try other words or `/virtsec topics`."
)


class GapKind(StrEnum):
    """Why a lookup is remembered."""

    UNANSWERED = "unanswered"  # no confident answer
    REFUSED = "refused"  # someone said "None of these" to the suggestions


def lookup_key(query: str) -> str:
    """A query's normalised form: what a pick or an alias is keyed by ("What is dom0?",
    "dom0" and "DOM0" are one key)."""
    return " ".join(topic_words(normalize(query)))[:MAX_TEXT]


def as_typed(query: str) -> str:
    """A query as it is stored: printable, on one line, shortened."""
    return " ".join("".join(c if c.isprintable() else " " for c in query).split())[:MAX_TEXT]


class Learning:
    """Team aliases, picks and gaps over one knowledge source and database."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        knowledge: KnowledgeSource,
        study: Study,
        clock: Callable[[], datetime],
    ):
        self.sessions = sessions
        self.knowledge = knowledge
        self.study = study
        self.clock = clock
        self._aliases: dict[tuple[str, str], str] = {}
        self._version: str | None = None
        self._recorder = _Recorder(sessions)
        try:
            with sessions.begin() as session:
                self.look(session)
        except (SQLAlchemyError, OSError):  # the database is down: the next look loads them
            logger.warning("team aliases not loaded yet: the database did not answer")

    # -- lookups

    def lookup(self, caller: Caller, query: str) -> LookupReply:
        """Look a concept up for someone: their team's alias first, then the notes; a
        query without a confident answer is remembered for `gaps`."""
        key = lookup_key(query)
        taught = self._aliases.get((caller.team_id, key))
        if taught is not None:
            concept = self.knowledge.kb.concepts.get(taught)
            if concept is not None and self.knowledge.index.numerals_agree(query, taught):
                result = LookupResult(query, Match(concept, 100.0))
                return LookupReply(result, self.study.card(concept), learned=True)
        reply = self.study.lookup(query)
        if reply.card is None and key:
            self._remember(caller, GapKind.UNANSWERED, key, query)
        return reply

    def pick(self, caller: Caller, query: str, concept_id: str) -> Picked | Notice:
        """Someone picked a suggestion: show it, record the pick, and learn the query when
        a second person (or an admin) picks the same concept for it."""
        concept = self.knowledge.kb.concepts.get(concept_id)
        if concept is None:
            return Notice(GONE, error=True)
        card = self.study.card(concept)
        key = lookup_key(query)
        offered = {m.concept.id for m in self.study.lookup(query).lookup.suggestions}
        if not key or concept_id not in offered:  # not a suggestion the query gets now
            return Picked(card, as_typed(query), learned=False)
        now = self.clock()
        with self.sessions.begin() as session:
            LookupLedger(session).pick(caller.team_id, key, caller.user_id, concept_id, now)
        learned = False
        if self.knowledge.index.numerals_agree(query, concept_id):
            with self.sessions.begin() as session:
                # counted after the pick committed, so two people picking at once both
                # see each other
                ledger = LookupLedger(session)
                pickers = ledger.pickers(caller.team_id, key, concept_id)
                if caller.is_admin or pickers >= PICKERS_TO_LEARN:
                    source = "admin" if caller.is_admin else "picks"
                    learned = ledger.teach(
                        caller.team_id, key, concept_id, source, caller.user_id, now,
                        replace=caller.is_admin,
                    )  # fmt: skip
                if learned:
                    self._bump(session)
        if learned:
            self._reload()
        return Picked(card, as_typed(query), learned)

    def none_of_these(self, caller: Caller, query: str) -> Notice:
        """Someone said none of the suggestions was what they meant."""
        key = lookup_key(query)
        if key:
            self._remember(caller, GapKind.REFUSED, key, query)
        return Notice(NONE_OF_THESE)

    # -- admin commands

    def gaps(self, caller: Caller) -> GapsResult:
        """The team's most frequent unanswered queries and refused suggestions."""
        self._recorder.wait_idle(2.0)  # what was just asked counts (run after the ack)
        since = self.clock() - GAPS_WINDOW
        with self.sessions.begin() as session:
            ledger = LookupLedger(session)
            rows = {
                kind: tuple(
                    Gap(row.query, row.times)
                    for row in ledger.gaps(caller.team_id, kind, since, GAPS_SHOWN)
                )
                for kind in GapKind
            }
            taught = ledger.alias_count(caller.team_id)
        return GapsResult(rows[GapKind.UNANSWERED], rows[GapKind.REFUSED], taught, GAPS_WINDOW.days)

    def teach(self, caller: Caller, query: str, concept_id: str) -> Notice:
        """An admin makes a query answer a concept for the whole team."""
        concept = self.knowledge.kb.concepts.get(concept_id)
        if concept is None:
            hint = self.study.lookup(concept_id.replace("-", " ")).lookup
            near = hint.answer or (hint.suggestions[0] if hint.suggestions else None)
            closest = f" The closest is `{near.concept.id}` ({near.concept.title})." if near else ""
            return Notice(
                f"There is no concept with the id “{shown(concept_id)}”; nothing was taught."
                f"{closest}",
                error=True,
            )
        key = lookup_key(query)
        if not key:
            return Notice("Give the words people type, then = and the concept id.", error=True)
        if not self.knowledge.index.numerals_agree(query, concept_id):
            return Notice(
                f"“{shown(query)}” names numbers that {concept.title} does not; a taught "
                "query never answers a concept with other numbers. Nothing was taught.",
                error=True,
            )
        now = self.clock()
        with self.sessions.begin() as session:
            LookupLedger(session).teach(
                caller.team_id, key, concept_id, "admin", caller.user_id, now, replace=True
            )
            self._bump(session)
        self._reload()
        return Notice(
            f"Taught: “{shown(query)}” now answers {concept.title} for everyone in this "
            "workspace. `/virtsec forget` undoes it."
        )

    def forget(self, caller: Caller, query: str) -> Notice:
        """An admin removes a team alias."""
        key = lookup_key(query)
        with self.sessions.begin() as session:
            removed = LookupLedger(session).forget(caller.team_id, key)
            if removed:
                self._bump(session)
        if not removed:
            return Notice(f"“{shown(query)}” was not a taught query; nothing changed.")
        self._reload()
        return Notice(f"Forgot “{shown(query)}”: it is looked up in the notes again.")

    # -- upkeep

    def forget_old(self) -> int:
        """Delete unanswered queries, refusals and picks older than RETENTION."""
        with self.sessions.begin() as session:
            return LookupLedger(session).forget_before(self.clock() - RETENTION)

    def look(self, session: Session) -> None:
        """Reload the team aliases when another process changed them (called by the
        background look of bot.knowledge_sync, at most every few seconds)."""
        version = read_shared(session, VERSION_KEY)
        if version is not None and version == self._version:
            return
        rows = LookupLedger(session).aliases()
        self._aliases = {(r.team_id, r.key): r.concept_id for r in rows}
        self._version = version

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every remembered lookup is written (tests, shutdown)."""
        return self._recorder.wait_idle(timeout)

    # -- internals

    def _remember(self, caller: Caller, kind: GapKind, key: str, query: str) -> None:
        event = Event(caller.team_id, caller.user_id, kind, key, as_typed(query), self.clock())
        self._recorder.put(event)

    def _bump(self, session: Session) -> None:
        """Tell every process the aliases changed."""
        record_shared(session, VERSION_KEY, uuid.uuid4().hex, self.clock())

    def _reload(self) -> None:
        with self.sessions.begin() as session:
            self._version = None
            self.look(session)


class _Recorder:
    """Writes remembered lookups in the background, in batches; a write that fails is
    tried again a few times, then logged and dropped."""

    TRIES = 3

    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions
        self._queue: queue.Queue[Event] = queue.Queue(maxsize=10_000)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def put(self, event: Event) -> None:
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            logger.warning("dropped an unanswered lookup: %d are waiting to be written", 10_000)
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="virtsec-lookup-gaps", daemon=True
                )
                self._thread.start()

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=5.0)
            except queue.Empty:
                with self._lock:  # idle: the next put starts a new thread
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            batch = [first]
            while len(batch) < 100:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._write(batch)
            except Exception:  # never let the thread die with rows waiting
                logger.exception("recording %d unanswered lookups failed", len(batch))
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _write(self, batch: list[Event]) -> None:
        for attempt in range(self.TRIES):
            try:
                with self.sessions.begin() as session:
                    LookupLedger(session).record(batch)
                return
            except (SQLAlchemyError, OSError):
                if attempt < self.TRIES - 1:
                    time.sleep(0.5 * (attempt + 1))
        for event in batch:  # one bad row must not lose the others
            try:
                with self.sessions.begin() as session:
                    LookupLedger(session).record([event])
            except (SQLAlchemyError, OSError):
                logger.exception("could not record an unanswered lookup of %s", event.team_id)
