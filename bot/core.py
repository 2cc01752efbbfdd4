"""The core, put together: every use case over one knowledge library, one database and one
channel, and the one place that routes a `/virtsec` command to its use case.

Slack (`handlers/`), the console and the tests build a `Core` with their own channel and call
`execute` for commands, or a use case directly for a button (`core.answering.answer`, ...).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import assert_never

from sqlalchemy.orm import Session, sessionmaker

from bot.commands import (
    USAGE,
    Command,
    DailyOff,
    DailyOn,
    DailyStatus,
    Forget,
    Gaps,
    Help,
    Leaderboard,
    Lookup,
    PostNow,
    Quiz,
    Reload,
    ScenarioCommand,
    Stats,
    Teach,
    TipCommand,
    Topics,
    WeeklyToggle,
)
from bot.daily.answering import Answering
from bot.daily.boards import Boards
from bot.daily.channel import Channel
from bot.daily.scheduler import Scheduler
from bot.daily.subscriptions import Schedules
from bot.knowledge_base import KnowledgeBase
from bot.knowledge_sync import KnowledgeSync
from bot.learning import Learning
from bot.library import Library
from bot.once import Once
from bot.pacing import Pacer
from bot.practice_service import PracticeService
from bot.progress import Progress
from bot.results import Caller, HelpResult, Notice, Reply
from bot.study import Study
from bot.workspaces import Workspaces

logger = logging.getLogger(__name__)
ADMIN_ONLY = "Only virtsec admins can do that. Ask a workspace admin, or see `/virtsec help`."


def may_administer(
    team_id: str,
    user_id: str,
    configured_admins: tuple[str, ...],
    workspace_admin: Callable[[], bool],
    *,
    per_workspace: bool = False,
) -> bool:
    """One workspace: admins are VIRTSEC_ADMINS when set, otherwise the workspace's admins and
    owners. Many workspaces (`per_workspace`): each workspace's own admins and owners, plus
    the VIRTSEC_ADMINS entries written TEAM_ID:USER_ID for that workspace."""
    named = f"{team_id}:{user_id}" in configured_admins or (
        not per_workspace and user_id in configured_admins
    )
    if per_workspace:
        return named or workspace_admin()
    if configured_admins:
        return named
    return workspace_admin()


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


class Core:
    """The use cases of virtsec, wired to one library, database and channel."""

    def __init__(
        self,
        library: Library,
        sessions: sessionmaker[Session],
        channel: Channel,
        *,
        clock: Callable[[], datetime] = utc_now,
        refresh_interval: float = 2.25,
        rng: random.Random | None = None,
        keep_departed: timedelta = timedelta(days=30),
    ):
        self.library = library
        self.sessions = sessions
        self.clock = clock
        self.study = Study(library, rng)
        self.schedules = Schedules(sessions, channel, clock)
        self.scheduler = Scheduler(sessions, library, channel, clock)
        self.answering = Answering(sessions, library, channel, clock, refresh_interval)
        self.boards = Boards(sessions, library, clock)
        self.practice = PracticeService(sessions, library, clock)
        self.progress = Progress(self.boards, self.practice, self.schedules)
        self.once = Once(sessions, clock)
        self.pacer = Pacer(sessions)
        self.learning = Learning(sessions, library, self.study, clock)
        self.knowledge = KnowledgeSync(library, sessions, clock, followers=[self.learning.look])
        self.workspaces = Workspaces(sessions, clock, keep_departed)
        #: more housekeeping for `tidy`, added by the edge (e.g. OAuth's expired states)
        self.chores: list[Callable[[], object]] = []

    def tidy(self) -> None:
        """The scheduler's housekeeping: forget handled requests older than a day, rate
        buckets idle for an hour, lookups older than the retention (90 days), and the data
        of workspaces uninstalled longer ago than the grace period."""
        self.once.forget_old()
        self.pacer.forget_idle()
        self.learning.forget_old()
        self.workspaces.purge_departed()
        for chore in self.chores:
            try:
                chore()
            except Exception:  # one chore's trouble must not stop the others
                logger.exception("housekeeping %r failed; the next tick tries again", chore)

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base in use."""
        return self.library.kb

    def execute(self, command: Command, caller: Caller) -> Reply:
        """Run a parsed `/virtsec` command for a caller; admin commands need an admin."""
        if command.admin and not caller.is_admin:
            return Notice(ADMIN_ONLY, error=True)
        match command:
            case Lookup(query=query):
                return self.learning.lookup(caller, query)
            case Help():
                return HelpResult(USAGE)
            case Topics(tag=tag):
                return self.study.topics(tag)
            case TipCommand():
                return self.study.tip()
            case ScenarioCommand(name=name):
                return self.study.scenario(name)
            case Quiz():
                return self.practice.next_question(caller)
            case Leaderboard(period=period):
                return self.boards.leaderboard(caller, period)
            case Stats():
                return self.progress.stats(caller)
            case DailyOn():
                return self.schedules.subscribe(caller, command)
            case DailyOff():
                return self.schedules.unsubscribe(caller)
            case DailyStatus():
                return self.schedules.status(caller)
            case WeeklyToggle(enabled=enabled):
                return self.schedules.weekly_toggle(caller, enabled)
            case PostNow():
                return self.scheduler.post_now(caller)
            case Reload():
                return self.reload()
            case Gaps():
                return self.learning.gaps(caller)
            case Teach(query=query, concept_id=concept_id):
                return self.learning.teach(caller, query, concept_id)
            case Forget(query=query):
                return self.learning.forget(caller, query)
            case _:
                assert_never(command)

    def reload(self) -> Notice:
        """Reload the knowledge base here, and have every other process follow."""
        notice = self.library.reload()
        if notice.error:
            return notice
        self.knowledge.publish()
        return Notice(
            f"{notice.text} Knowledge {self.kb.fingerprint}: every process serves it within "
            "a few seconds."
        )

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait for background refreshes and reloads (tests, shutdown)."""
        return (
            self.answering.refresher.wait_idle(timeout)
            and self.knowledge.wait_idle(timeout)
            and self.learning.wait_idle(timeout)
        )
