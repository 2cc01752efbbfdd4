"""A Channel that records what the core asked it to show (for core tests)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from bot.daily.channel import Announcement, ChannelFailed, ChannelRefused, PostView, Reveal
from bot.daily.weekly import WeeklyReportView


@dataclass
class RecordingChannel:
    """Records posts, updates and reveals; can be told to fail the next post."""

    posts: list[PostView] = field(default_factory=list)
    updates: list[tuple[PostView, Reveal | None]] = field(default_factory=list)
    reveals: list[Reveal] = field(default_factory=list)
    reports: list[WeeklyReportView] = field(default_factory=list)
    announcements: list[Announcement] = field(default_factory=list)
    fail_posts: int = 0  # the next posts are refused by Slack (an error answer)
    lose_posts: int = 0  # the next posts reach the channel, but their answer is lost
    fail_reveals: int = 0  # the next reveals are refused
    refuse: str | None = None  # every message refused, with this reason (not in channel)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def post_question(self, view: PostView) -> str:
        """Record a post; returns a fake ts."""
        with self._lock:
            if self.refuse:
                raise ChannelRefused(self.refuse)
            if self.fail_posts:
                self.fail_posts -= 1
                raise ChannelFailed("ratelimited")
            self.posts.append(view)
            if self.lose_posts:
                self.lose_posts -= 1
                raise TimeoutError("the answer never came")
            return f"1700000000.{len(self.posts):06d}"

    def update_question(self, view: PostView, reveal: Reveal | None = None) -> None:
        """Record an update."""
        with self._lock:
            self.updates.append((view, reveal))

    def post_reveal(self, reveal: Reveal) -> None:
        """Record a reveal (or refuse it)."""
        with self._lock:
            if self.fail_reveals:
                self.fail_reveals -= 1
                raise ChannelFailed("ratelimited")
            self.reveals.append(reveal)

    def announce(self, announcement: Announcement) -> None:
        """Record an announcement (or refuse it)."""
        with self._lock:
            if self.refuse:
                raise ChannelRefused(self.refuse)
            self.announcements.append(announcement)

    def post_report(self, report: WeeklyReportView) -> str:
        """Record a weekly report."""
        with self._lock:
            self.reports.append(report)
            return f"1800000000.{len(self.reports):06d}"
