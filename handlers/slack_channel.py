"""The Slack side of the core's Channel protocol: daily questions as channel messages."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.daily.channel import PostView, Reveal
from bot.daily.weekly import WeeklyReportView
from handlers.blocks.daily import render_daily_question, render_reveal, render_weekly_report


class SlackChannel:
    """Posts, updates and reveals daily questions with the Web API."""

    def __init__(self, client: WebClient):
        self.client = client

    def post_question(self, view: PostView) -> str:
        """chat.postMessage; returns the message ts."""
        text, blocks = render_daily_question(view)
        response = self.client.chat_postMessage(channel=view.channel_id, text=text, blocks=blocks)
        return str(response["ts"])

    def update_question(self, view: PostView, reveal: Reveal | None = None) -> None:
        """chat.update the question (live count; result once closed)."""
        if view.ts is None:
            return
        text, blocks = render_daily_question(view, reveal)
        self.client.chat_update(channel=view.channel_id, ts=view.ts, text=text, blocks=blocks)

    def post_reveal(self, reveal: Reveal) -> None:
        """The answer and explanation as a thread reply."""
        text, blocks = render_reveal(reveal)
        self.client.chat_postMessage(
            channel=reveal.post.channel_id, thread_ts=reveal.post.ts, text=text, blocks=blocks
        )

    def post_report(self, report: WeeklyReportView) -> str:
        """The Monday team report."""
        text, blocks = render_weekly_report(report)
        response = self.client.chat_postMessage(channel=report.channel_id, text=text, blocks=blocks)
        return str(response["ts"])
