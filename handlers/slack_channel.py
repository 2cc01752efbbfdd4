"""The Slack side of the core's Channel protocol: daily questions as channel messages."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.daily.channel import Announcement, ChannelFailed, ChannelRefused, PostView, Reveal
from bot.daily.weekly import WeeklyReportView
from handlers.blocks.daily import (
    MAX_NAMED,
    render_announcement,
    render_daily_question,
    render_reveal,
    render_weekly_report,
)
from handlers.installations import NoToken
from handlers.slack_users import Directory
from handlers.web_api import SlackClients, clients_of, posting_client

#: Slack's errors that mean the bot cannot post in a channel until someone acts
REFUSALS = {
    "not_in_channel": "I am not a member of it; invite me with `/invite @virtsec`",
    "channel_not_found": (
        "I cannot see it: a private channel I was not invited to (`/invite @virtsec`)"
    ),
    "is_archived": "it is archived",
    "restricted_action": "posting there is restricted to some people",
    "restricted_action_read_only_channel": "it is read-only",
    # the workspace took the app's access away: nothing works there until it reinstalls
    "token_revoked": "virtsec's access to this workspace was revoked; reinstall it",
    "invalid_auth": "virtsec's token for this workspace is not valid; reinstall it",
    "account_inactive": "virtsec's access to this workspace was revoked; reinstall it",
}


#: Slack's error answers that say the message was not posted (so trying later is safe). Any
#: other (a 5xx, internal_error, fatal_error: "some aspect may have succeeded") leaves the
#: outcome unknown.
NOT_POSTED = {
    *REFUSALS,
    "ratelimited",
    "rate_limited",
    "message_limit_exceeded",
    "invalid_blocks",
    "invalid_blocks_format",
    "msg_too_long",
    "no_text",
    "invalid_arguments",
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "missing_scope",
    "team_access_not_granted",
}


class SlackChannel:
    """Posts, updates and reveals daily questions with the Web API. An error answer from
    Slack is ChannelFailed (nothing was posted); anything else (a time-out, a dropped
    connection) leaves the outcome unknown and is raised as it is."""

    def __init__(self, clients: SlackClients | WebClient, directory: Directory | None = None):
        self.clients = clients_of(clients)  # each workspace's calls with its own token
        self.directory = directory or Directory()

    def post_question(self, view: PostView) -> str:
        """chat.postMessage; returns the message ts."""
        text, blocks = render_daily_question(view)
        response = self._post(view.team_id, view.channel_id, text, blocks)
        return str(response["ts"])

    def update_question(self, view: PostView, reveal: Reveal | None = None) -> None:
        """chat.update the question (live count; result once closed)."""
        if view.ts is None:
            return
        text, blocks = render_daily_question(view, reveal)
        client = self._client(view.team_id)
        try:
            client.chat_update(channel=view.channel_id, ts=view.ts, text=text, blocks=blocks)
        except (SlackApiError, SlackClientError, OSError) as exc:
            # an update can be made again safely: every failure is one to retry
            raise ChannelFailed(_reason(exc)) from exc

    def post_reveal(self, reveal: Reveal) -> None:
        """The answer and explanation as a thread reply, naming (not pinging) who got it."""
        post = reveal.post
        client = self._client(post.team_id)
        names = self.directory.names(client, post.team_id, reveal.correct_users[:MAX_NAMED])
        text, blocks = render_reveal(reveal, names)
        self._post(post.team_id, post.channel_id, text, blocks, thread_ts=post.ts)

    def post_report(self, report: WeeklyReportView) -> str:
        """The Monday team report."""
        text, blocks = render_weekly_report(report)
        response = self._post(report.team_id, report.channel_id, text, blocks)
        return str(response["ts"])

    def announce(self, announcement: Announcement) -> None:
        """The new schedule, posted in the channel: proof that the bot can post there."""
        if announcement.channel_id.startswith("D"):
            raise ChannelRefused("this is a direct message; daily questions go to a channel")
        text, blocks = render_announcement(announcement)
        self._post(announcement.team_id, announcement.channel_id, text, blocks)

    def _post(
        self,
        team_id: str,
        channel: str,
        text: str,
        blocks: list[dict[str, object]],
        thread_ts: str | None = None,
    ) -> dict[str, object]:
        poster = posting_client(self._client(team_id))  # never retried blindly
        try:
            response = poster.chat_postMessage(
                channel=channel, text=text, blocks=blocks, thread_ts=thread_ts
            )
        except SlackApiError as exc:
            error = _reason(exc)
            if error in REFUSALS:
                raise ChannelRefused(REFUSALS[error]) from exc
            if error in NOT_POSTED:
                raise ChannelFailed(error) from exc
            raise  # a 5xx or an internal error: maybe posted, so not to be sent again
        return dict(response.data) if isinstance(response.data, dict) else {}

    def _client(self, team_id: str) -> WebClient:
        """The workspace's client. Whatever goes wrong in finding its token happens before
        anything is sent: ChannelRefused when it is not installed any more, ChannelFailed
        (try again later) otherwise (a rotation Slack refused, the database)."""
        try:
            return self.clients.for_team(team_id)
        except NoToken as exc:
            if exc.final:
                raise ChannelRefused(str(exc)) from exc
            raise ChannelFailed(str(exc)) from exc
        except Exception as exc:
            raise ChannelFailed(f"no token for this workspace: {type(exc).__name__}") from exc


def _reason(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
    return type(exc).__name__
