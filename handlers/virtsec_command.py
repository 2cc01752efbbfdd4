"""The `/virtsec` slash command: parse, run the core, reply privately."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.commands import CommandError, parse
from bot.config import Settings
from bot.services import Caller, Notice, Study
from handlers.blocks import render, render_notice
from handlers.slack_context import SLACK_UNREACHABLE, SlackUnavailable, ephemeral, is_admin


def register(app: App, study: Study, settings: Settings) -> None:
    """Add the /virtsec listener."""

    @app.command("/virtsec")
    def virtsec(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        try:
            parsed = parse(command.get("text") or "")
            admin = parsed.admin and is_admin(client, settings, command["user_id"])
        except CommandError as exc:
            ack(**ephemeral(render_notice(Notice(str(exc), error=True))))
            return
        except SlackUnavailable:
            ack(**ephemeral(render_notice(Notice(SLACK_UNREACHABLE, error=True))))
            return
        caller = Caller(command["team_id"], command["user_id"], command.get("channel_id", ""),
                        is_admin=admin)
        ack(**ephemeral(render(study.execute(parsed, caller))))
