"""The `/virtsec` slash command: parse, run the core, reply privately."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.commands import CommandError, DailyOn, Gaps, PostNow, Reload, parse
from bot.config import Settings
from bot.core import Core
from bot.results import Caller, Notice
from handlers.blocks import render
from handlers.blocks.study import render_notice
from handlers.response_url import Replies
from handlers.slack_context import (
    SLACK_UNREACHABLE,
    SlackUser,
    ephemeral,
    is_admin,
    user_timezone,
)
from handlers.slack_users import Directory, SlackUnavailable

# call Slack, reload or read a lot: acknowledged first, done after
SLOW = (PostNow, Reload, DailyOn, Gaps)
LATER = "virtsec_later"
REPLAYED = "That command was already carried out."


def register(
    app: App, core: Core, settings: Settings, replies: Replies, directory: Directory
) -> None:
    """Add the /virtsec listener."""

    def virtsec(ack: Ack, command: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        user = command["user_id"]
        try:
            parsed = parse(command.get("text") or "")
            slack_user = SlackUser(directory, client, command["team_id"], user)
            admin = parsed.admin and is_admin(slack_user, settings)
            zone = (
                user_timezone(slack_user)
                if isinstance(parsed, DailyOn) and admin and parsed.timezone is None
                else None
            )
        except CommandError as exc:
            ack(**ephemeral(render_notice(Notice(str(exc), error=True))))
            return
        except SlackUnavailable:
            ack(**ephemeral(render_notice(Notice(SLACK_UNREACHABLE, error=True))))
            return
        caller = Caller(
            command["team_id"], user, command.get("channel_id", ""), is_admin=admin, timezone=zone
        )
        trigger = str(command.get("trigger_id") or "")
        if admin and trigger and not core.once.first(f"trigger:{caller.team_id}:{trigger}"):
            ack(**ephemeral(render_notice(Notice(REPLAYED))))  # a replay acts no more
            return
        if isinstance(parsed, SLOW) and admin:
            context[LATER] = (parsed, caller)  # run after the ack, by `later`
            ack(**ephemeral(render_notice(Notice("Working on it…"))))
            return
        ack(**ephemeral(render(core.execute(parsed, caller))))

    def later(context: BoltContext) -> None:
        job = context.get(LATER)
        if job is not None:
            replies.to(context.response_url)(
                **ephemeral(render(core.execute(*job)), replace_original=False)
            )

    app.command("/virtsec")(ack=virtsec, lazy=[later])
