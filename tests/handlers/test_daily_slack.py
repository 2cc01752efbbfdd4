"""The daily question in Slack, over real HTTP with signed requests."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from bot.config import Settings
from bot.library import Library
from bot.storage.db import make_engine, session_factory
from bot.storage.tables import DailyPost, Score, StoredAnswer, Subscription
from tests.conftest import engine_url
from tests.fakes.slack_api import FakeSlack
from tests.handlers.conftest import SIGNING_SECRET, SlackClient, validate_blocks

Serve = Callable[..., SlackClient]
VIRTSEC = Path(sys.executable).parent / "virtsec"


def post_question(client: SlackClient, slack: FakeSlack, channel: str = "C1") -> dict[str, Any]:
    """An admin posts a question now; returns the recorded chat.postMessage args."""
    before = len(slack.calls_to("chat.postMessage"))
    replies = len(slack.responses("cmd"))
    reply = client.command("post", user="UADMIN", channel=channel)
    assert reply.status == 200 and reply.json()["text"] == "Working on it…"
    # the admin is told once the question is in the channel and open for answers
    assert slack.wait_for(lambda: len(slack.responses("cmd")) > replies)
    posted = [
        c.args
        for c in slack.calls_to("chat.postMessage")[before:]
        if c.args["text"].startswith("Daily practice question:")
    ]
    assert posted, slack.responses("cmd")[-1]
    return posted[-1]


def answer_buttons(args: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = args["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    return [
        e
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"].split(":")[0] == "daily_answer"
    ]


def count_rows(db_url: str, table: Any, *where: Any) -> int:
    engine = make_engine(db_url)
    try:
        with session_factory(engine).begin() as session:
            return int(session.scalar(select(func.count()).select_from(table).where(*where)) or 0)
    finally:
        engine.dispose()


def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/virtsec.db"


def test_daily_on_uses_the_admins_time_zone(
    serve: Serve, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    client = serve()
    fake_slack.set_user("UADMIN", is_admin=True, tz="Asia/Tokyo")
    assert client.command("daily on 08:30 everyday", user="UADMIN").json()["text"] == (
        "Working on it…"
    )
    assert fake_slack.wait_for(lambda: fake_slack.responses("cmd") != [])
    text = fake_slack.responses("cmd")[0]["text"]
    assert "08:30 Asia/Tokyo, every day" in text and "Next:" in text
    assert count_rows(db_url(tmp_path), Subscription, Subscription.timezone == "Asia/Tokyo") == 1
    status = client.command("daily", user="U5").json()["text"]
    assert status.startswith("Daily question: 08:30 Asia/Tokyo")


def test_post_shows_buttons_and_a_private_result(serve: Serve, fake_slack: FakeSlack) -> None:
    client = serve()
    fake_slack.set_user("UADMIN", is_admin=True)
    args = post_question(client, fake_slack)
    validate_blocks(args["blocks"])
    assert args["channel"] == "C1" and args["text"].startswith("Daily practice question: ")
    buttons = answer_buttons(args)
    assert 2 <= len(buttons) <= 5
    # one action id per button, as Slack requires within a block
    assert [b["action_id"] for b in buttons] == [f"daily_answer:{i}" for i in range(len(buttons))]
    assert fake_slack.wait_for(lambda: fake_slack.responses("cmd") != [])
    assert fake_slack.responses("cmd")[0]["text"] == "Posted a new question in this channel."
    client.click(buttons[0]["action_id"], buttons[0]["value"], user="U1", ephemeral=False)
    assert fake_slack.wait_for(lambda: len(fake_slack.responses("click")) == 1)
    reply = fake_slack.responses("click")[0]
    validate_blocks(reply["blocks"])
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    assert reply["text"].startswith(("Correct!", "Not this time"))
    client.click(buttons[1]["action_id"], buttons[1]["value"], user="U1", ephemeral=False)
    assert fake_slack.wait_for(lambda: len(fake_slack.responses("click")) == 2)
    assert fake_slack.responses("click")[1]["text"] == (
        "You already answered A. Your first answer is the one that counts."
    )


def test_100_people_clicking_5_times_at_once_score_exactly_once(
    serve: Serve, fake_slack: FakeSlack, engine: Engine
) -> None:
    client = serve(engine=engine)
    fake_slack.set_user("UADMIN", is_admin=True)
    buttons = answer_buttons(post_question(client, fake_slack))
    errors: list[str] = []

    def person(k: int) -> None:
        for click in range(5):
            reply = client.click(
                "daily_answer",
                buttons[(k + click) % len(buttons)]["value"],
                user=f"U{k:03d}",
                ephemeral=False,
                response_url=fake_slack.response_url(f"u{k}"),
            )
            if reply.status != 200:
                errors.append(f"{k}: {reply.status}")

    threads = [threading.Thread(target=person, args=(k,)) for k in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert fake_slack.wait_for(
        lambda: all(len(fake_slack.responses(f"u{k}")) == 5 for k in range(100)), timeout=60
    )
    with session_factory(engine).begin() as session:
        assert session.scalar(select(func.count()).select_from(StoredAnswer)) == 100
        assert session.scalar(select(func.count()).select_from(DailyPost)) == 1
        first_choices = {k: k % len(buttons) for k in range(100)}  # first click counts
        rows = session.execute(select(StoredAnswer.user_id, StoredAnswer.choice)).all()
        assert {u: c for u, c in rows} == {f"U{k:03d}": first_choices[k] for k in range(100)}
        points = session.scalar(select(func.sum(Score.points)))
        right = session.scalar(
            select(func.count()).select_from(StoredAnswer).where(StoredAnswer.correct)
        )
        assert points == right
    for k in range(100):
        already = [r for r in fake_slack.responses(f"u{k}") if "already answered" in r["text"]]
        assert len(already) == 4
    # the channel message shows the count, updated in a few coalesced chat.update calls
    assert fake_slack.wait_for(
        lambda: any(
            "100 answers so far" in json.dumps(c.args.get("blocks"))
            for c in fake_slack.calls_to("chat.update")
        ),
        timeout=10,
    )
    assert len(fake_slack.calls_to("chat.update")) <= 20


def test_forged_daily_values_get_a_polite_error_and_store_nothing(
    serve: Serve, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    client = serve()
    for value in ("999:0", "garbage", "1:7", ""):
        client.click("daily_answer", value, ephemeral=False)
    assert fake_slack.wait_for(lambda: len(fake_slack.responses("click")) == 4)
    assert all("no longer available" in r["text"] for r in fake_slack.responses("click"))
    assert count_rows(db_url(tmp_path), StoredAnswer) == 0


def test_a_new_post_closes_the_old_one_with_a_reveal_in_thread(
    serve: Serve, fake_slack: FakeSlack
) -> None:
    client = serve()
    fake_slack.set_user("UADMIN", is_admin=True)
    first = post_question(client, fake_slack)
    buttons = answer_buttons(first)
    client.click(buttons[0]["action_id"], buttons[0]["value"], user="U1", ephemeral=False)
    assert fake_slack.wait_for(lambda: len(fake_slack.responses("click")) == 1)
    post_question(client, fake_slack)
    assert fake_slack.wait_for(
        lambda: any(c.args.get("thread_ts") for c in fake_slack.calls_to("chat.postMessage"))
    )
    thread = next(c for c in fake_slack.calls_to("chat.postMessage") if c.args.get("thread_ts"))
    assert thread.args["text"].startswith("The answer: ")
    validate_blocks(thread.args["blocks"])
    closed = [
        c for c in fake_slack.calls_to("chat.update") if "Closed." in json.dumps(c.args["blocks"])
    ]
    assert closed and not answer_buttons(closed[0].args)
    client.click(buttons[0]["action_id"], buttons[0]["value"], user="U2", ephemeral=False)
    assert fake_slack.wait_for(lambda: len(fake_slack.responses("click")) == 2)
    assert fake_slack.responses("click")[1]["text"].startswith("This question is closed.")


def test_leaderboard_and_stats_render(serve: Serve, fake_slack: FakeSlack) -> None:
    client = serve()
    fake_slack.set_user("UADMIN", is_admin=True)
    assert "No daily questions" in client.command("leaderboard").json()["text"]
    buttons = answer_buttons(post_question(client, fake_slack))
    for k, b in enumerate(buttons):
        client.click("daily_answer", b["value"], user=f"U{k}", ephemeral=False)
    assert fake_slack.wait_for(lambda: len(fake_slack.responses("click")) == len(buttons))
    for text in ("leaderboard", "leaderboard week", "leaderboard month", "stats"):
        body = client.command(text, user="U0").json()
        validate_blocks(body["blocks"])
    board = client.command("leaderboard", user="U0").json()
    assert board["text"].startswith("Leaderboard — all time: 1. U")
    assert client.command("stats", user="U0").json()["text"].startswith("Your stats: 1 answered")


def test_two_tick_processes_at_once_post_once(engine: Engine, tmp_path: Path) -> None:
    url = engine_url(engine)
    with session_factory(engine).begin() as session:
        now = datetime.now(UTC)
        session.add(
            Subscription(
                team_id="T0TEST",
                channel_id="C1",
                post_time="00:00",
                timezone="UTC",
                days="everyday",
                created_by="U1",
                created_at=now,
                updated_at=now,
                enabled=True,
            )
        )
    with FakeSlack() as slack:
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": "xoxb-tick",
            "SLACK_API_URL": slack.base_url,
            "DATABASE_URL": url,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        }
        procs = [
            subprocess.Popen(
                [str(VIRTSEC), "tick"],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [p.communicate(timeout=60) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outputs
        assert sorted(o[0].strip() for o in outputs) == [
            "posted 0, closed 0, failed 0",
            "posted 1, closed 0, failed 0",
        ]
        assert len(slack.calls_to("chat.postMessage")) == 1
        again = subprocess.run(
            [str(VIRTSEC), "tick"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert again.stdout.strip() == "posted 0, closed 0, failed 0"
        assert len(slack.calls_to("chat.postMessage")) == 1


def test_the_scheduler_survives_a_database_outage(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, library: Library
) -> None:
    from handlers import server

    settings = Settings(
        slack_bot_token="xoxb-test",
        slack_api_url="http://127.0.0.1:9/api/",
        database_url=f"sqlite:///{tmp_path}/missing-dir/virtsec.db",  # cannot be opened
    )
    stop = threading.Event()
    thread = threading.Thread(
        target=server.run_scheduler, args=(settings, library, stop, 0.2), daemon=True
    )
    with caplog.at_level(logging.ERROR):
        thread.start()
        assert not stop.wait(1.5)
        assert thread.is_alive()  # ticks failed, the loop goes on
        stop.set()
        thread.join(timeout=5)
    assert caplog.text.count("tick failed; the next minute tries again") >= 3
