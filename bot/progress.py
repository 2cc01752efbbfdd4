"""A person's progress: `/virtsec stats` (daily record plus practice memory) and the Home
dashboard."""

from __future__ import annotations

from dataclasses import replace

from bot.daily.boards import Boards
from bot.daily.subscriptions import Schedules
from bot.practice_service import PracticeService
from bot.results import Caller, Dashboard, Focus, LeaderboardResult, StatsResult
from bot.scoring import Period
from bot.storage.sql import insert_ignoring_conflicts
from bot.storage.tables import HomeViewer

HOME_BOARD_SIZE = 5
WEAKEST = 3


class Progress:
    """Puts a person's daily record and practice memory together."""

    def __init__(self, boards: Boards, practice: PracticeService, schedules: Schedules):
        self.boards = boards
        self.practice = practice
        self.schedules = schedules

    def stats(self, caller: Caller) -> StatsResult:
        """Daily record in this channel plus practice memory (mastery, due reviews)."""
        memory = self.practice.progress(caller)
        return replace(self.boards.stats(caller), mastery=memory.mastery, due=memory.due)

    def saw_dashboard(self, team_id: str, user_id: str) -> None:
        """Remember that a person uses the dashboard (in the database: any process may
        record their next answer and refresh it)."""
        with self.boards.sessions.begin() as session:
            stmt = insert_ignoring_conflicts(session, HomeViewer).values(
                team_id=team_id, user_id=user_id, opened_at=self.boards.clock()
            )
            session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["team_id", "user_id"],
                    set_={"opened_at": self.boards.clock()},
                )
            )

    def uses_dashboard(self, team_id: str, user_id: str) -> bool:
        """True when the person has opened the dashboard."""
        with self.boards.sessions.begin() as session:
            found = session.get(HomeViewer, (team_id, user_id))
            return found is not None

    def dashboard(self, team_id: str, user_id: str, focus: Focus = None) -> Dashboard:
        """The Home tab's content for a person (sensible with no history at all)."""
        channel = self.boards.home_channel(team_id, user_id)
        caller = Caller(team_id, user_id, channel or "")
        stats = self.stats(caller)
        board = None
        next_post = None
        if channel is not None:
            result = self.boards.leaderboard(caller, Period.ALL)
            if isinstance(result, LeaderboardResult):
                board = replace(result, rows=result.rows[:HOME_BOARD_SIZE])
            next_post = self.schedules.next_post(team_id, channel)
        # mastery comes weakest first; a concept answered right every time is not weak
        weakest = tuple(m for m in stats.mastery if m.missed)[:WEAKEST]
        return Dashboard(user_id, stats, channel, board, next_post, weakest, focus)
