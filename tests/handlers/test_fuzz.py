"""A few hundred mutated requests in Slack's shapes, signed and unsigned, sent over HTTP:
never a 5xx, never a traceback in the log, and nothing stored for what is not valid."""

from __future__ import annotations

import json
import logging
import random
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.storage.db import make_engine
from bot.storage.tables import StoredAnswer, Subscription
from tests.fakes.slack_api import TEAM_ID, FakeSlack
from tests.handlers.conftest import SlackClient
from tests.handlers.test_daily_slack import answer_buttons, count_rows, db_url, post_question

Serve = Callable[..., SlackClient]

ODD_TEXT = [
    "",
    " ",
    "<!channel> ping",
    "a" * 10_000,
    "\x00\x01\x1b[31m",
    "☃" * 3001,
    "daily on " + "9" * 4000,
    "topics " + "x" * 4000,
    "scenario " + "y" * 4000,
    "leaderboard " + "z" * 4000,
    "daily on 09:00 " + "Z/" * 2000,
    "weekly maybe",
    "quiz quiz quiz",
    "٣",
    "post " * 300,
]
ODD_VALUES = [
    "²:0",
    "1:¹",
    "99999999999999999999:0",
    "9" * 10_000 + ":0",
    ":",
    "",
    "-1:0",
    "1:-1",
    "٣:٠",
    "0x1:0",
    "1:0:0",
    "null",
    "{}",
    "q-vm-escape-1|²",
    "q-vm-escape-1|99999999999999",
    "|",
    "../../etc/passwd",
    "vm-escape\n",
    "<@U1>",
    "1" * 3000,
]
ODD_IDS = ["", "u1", "U" * 40, "U1<>", "U1\n", "ＵＮＩ", "C5"]
ACTIONS = [
    "daily_answer",
    "daily_answer:0",
    "daily_answer:99999",
    "practice_answer:1",
    "practice_next",
    "concept_open:0",
    "concept_share",
    "home_practice",
    "unknown_action",
]


def mutations(rng: random.Random, button_value: str) -> list[tuple[str, str]]:
    """(body, content type) pairs: slash commands, clicks and events, each a little wrong."""
    out: list[tuple[str, str]] = []
    form = "application/x-www-form-urlencoded"
    for text in ODD_TEXT:
        for user in ("U1", rng.choice(ODD_IDS)):
            fields = {
                "team_id": TEAM_ID,
                "user_id": user,
                "channel_id": "C1",
                "text": text,
                "command": "/virtsec",
                "response_url": "https://example.invalid/x",
            }
            out.append((urllib.parse.urlencode(fields), form))
    for action in ACTIONS:
        for value in [*ODD_VALUES, button_value]:
            payload = {
                "type": "block_actions",
                "team": {"id": rng.choice([TEAM_ID, TEAM_ID, "T0OTHER", "tx"])},
                "user": {"id": rng.choice(["U1", "U2", *ODD_IDS])},
                "channel": {"id": rng.choice(["C1", "C1", "C5", *ODD_IDS])},
                "container": rng.choice(
                    [{"type": "message", "channel_id": "C1"}, {"type": "view", "view_id": "V1"}, {}]
                ),
                "actions": [{"action_id": action, "value": value, "type": "button"}],
            }
            if rng.random() < 0.2:
                payload.pop(rng.choice(list(payload)))
            out.append((urllib.parse.urlencode({"payload": json.dumps(payload)}), form))
    for raw in ["%7Bx", "null", "[]", "1", '"x"', "%FF%FE"]:
        out.append((f"payload={raw}", form))
    out.append(("command=%2Fvirtsec&text=%FF", form))
    for event in [
        {},
        {"type": "app_home_opened"},
        {"type": "app_home_opened", "user": 5},
        {"type": "app_home_opened", "user": "U1", "tab": None},
        "x",
    ]:
        out.append(
            (
                json.dumps(
                    {
                        "type": "event_callback",
                        "team_id": TEAM_ID,
                        "event_id": f"Ev{rng.random()}",
                        "event": event,
                    }
                ),
                "application/json",
            )
        )
    out += [
        ("null", "application/json"),
        ("[1]", "application/json"),
        ("{", "application/json"),
        ("x=1", "text/plain"),
    ]
    return out


def test_mutated_requests_never_get_a_5xx_nor_store_anything(
    serve: Serve, fake_slack: FakeSlack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = serve()
    fake_slack.set_user("UADMIN", is_admin=True)
    button = answer_buttons(post_question(client, fake_slack))[0]
    rng = random.Random(11)
    cases = mutations(rng, button["value"])
    assert len(cases) >= 200  # each sent signed and unsigned: over 400 requests
    statuses: list[int] = []
    with caplog.at_level(logging.INFO):
        for body, content_type in cases:
            statuses.append(client.post(body, content_type).status)  # signed
            statuses.append(client.post(body, content_type, signature="v0=" + "0" * 64).status)
    assert [s for s in statuses if s >= 500] == []
    assert "Traceback" not in caplog.text
    # the only valid answers among them: the real button, clicked in C1 by U1 or U2
    engine = make_engine(db_url(tmp_path))
    with engine.connect() as conn:
        rows = conn.execute(select(StoredAnswer.user_id, StoredAnswer.channel_id)).all()
    engine.dispose()
    assert set(rows) <= {("U1", "C1"), ("U2", "C1")}
    assert count_rows(db_url(tmp_path), Subscription) == 0  # not one `daily on` was valid
    print(
        f"{len(statuses)} requests: {sum(s < 300 for s in statuses)} 2xx, "
        f"{sum(400 <= s < 500 for s in statuses)} 4xx, 0 5xx"
    )
