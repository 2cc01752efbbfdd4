"""Many processes, one truth: two `virtsec serve` instances (two gunicorn workers each) and
one `virtsec scheduler` on one PostgreSQL database and one fake Slack, as a team runs them
on several dynos or pods."""

from __future__ import annotations

import itertools
import json
import random
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, func, select

from bot import knowledge_base
from bot.storage.db import session_factory
from bot.storage.tables import DailyPost, Score, StoredAnswer, Subscription
from tests.conftest import engine_url
from tests.fakes.slack_api import TEAM_ID, FakeSlack
from tests.handlers.conftest import SlackClient
from tests.handlers.test_daily_slack import answer_buttons, post_question
from tests.handlers.test_home import opened
from tests.handlers.test_serve_process import VIRTSEC, free_port, slack_env, start_serve

pytestmark = pytest.mark.parametrize("engine", ["postgresql"], indirect=True)


@dataclass
class Cluster:
    """Two web instances and the scheduler; `notes` is the knowledge base they serve."""

    instances: list[SlackClient]
    notes: Path


def stop(processes: list[subprocess.Popen[str]]) -> list[str]:
    """Stop every process; what each wrote to stderr."""
    for proc in processes:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    return [proc.communicate(timeout=30)[1] for proc in processes]


@pytest.fixture
def cluster(engine: Engine, tmp_path: Path) -> Iterator[Cluster]:
    notes = tmp_path / "knowledge"
    shutil.copytree(knowledge_base.bundled_knowledge_dir(), notes)
    env = {
        "DATABASE_URL": engine_url(engine),
        "VIRTSEC_KNOWLEDGE": str(notes),
        "VIRTSEC_ADMINS": "UADMIN",
    }
    processes: list[subprocess.Popen[str]] = []
    with FakeSlack() as slack:
        try:
            clients = []
            for _ in range(2):
                port = free_port()
                processes.append(start_serve(tmp_path, slack, port, **env))
                clients.append(SlackClient(f"http://127.0.0.1:{port}", slack))
            processes.append(start_scheduler(tmp_path, slack, env))
            yield Cluster(clients, notes)
        finally:
            logs = stop(processes)
        assert slack.refusals == []
        assert slack.rate_limited == []  # the instances kept to Slack's limits together
    for log in logs:
        assert "Traceback" not in log, log


def start_scheduler(tmp_path: Path, slack: FakeSlack, env: dict[str, str]) -> subprocess.Popen[str]:
    """`virtsec scheduler`, ticking every second."""
    full = slack_env(slack, **env)
    return subprocess.Popen(
        [str(VIRTSEC), "scheduler", "--every", "1"],
        env=full,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def slack_of(cluster: Cluster) -> FakeSlack:
    return cluster.instances[0].slack


def test_500_clicks_over_two_instances_score_exactly_and_refresh_the_count_sparingly(
    cluster: Cluster, engine: Engine
) -> None:
    slack = slack_of(cluster)
    buttons = answer_buttons(post_question(cluster.instances[0], slack))
    # 100 people click 5 times each, every click at once with the others, on either instance
    clicks = [(k, n) for k in range(100) for n in range(5)]
    random.Random(7).shuffle(clicks)

    def click(item: tuple[int, int]) -> int:
        k, n = item
        return (
            cluster.instances[(k + n) % 2]
            .click(
                "daily_answer",
                buttons[(k + n) % len(buttons)]["value"],
                user=f"U{k:03d}",
                ephemeral=False,
                response_url=slack.response_url(f"u{k}"),
            )
            .status
        )

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(click, clicks))
    assert statuses == [200] * 500
    assert slack.wait_for(
        lambda: all(len(slack.responses(f"u{k}")) == 5 for k in range(100)), timeout=60
    )
    with session_factory(engine).begin() as session:
        answers = session.execute(select(StoredAnswer.user_id, StoredAnswer.correct)).all()
        assert sorted(u for u, _ in answers) == [f"U{k:03d}" for k in range(100)]
        scores = {u: p for u, p in session.execute(select(Score.user_id, Score.points))}
        assert scores == {u: int(correct) for u, correct in answers}  # exact points
    for k in range(100):  # one verdict each; the other four clicks are told so
        texts = [r["text"] for r in slack.responses(f"u{k}")]
        assert sum(t.startswith(("Correct!", "Not this time")) for t in texts) == 1, texts
        assert sum("already answered" in t for t in texts) == 4
    # the live count: every instance's refreshes together, at most one per 2 s, and the
    # last one exact
    assert slack.wait_for(
        lambda: any(
            "100 answers so far" in json.dumps(c.args.get("blocks"))
            for c in slack.calls_to("chat.update")
        ),
        timeout=15,
    )
    time.sleep(2.5)  # any refresh still due would have come by now
    updates = slack.calls_to("chat.update")
    gaps = [b.at - a.at for a, b in itertools.pairwise(updates)]
    assert all(gap >= 1.9 for gap in gaps), gaps
    assert "100 answers so far" in json.dumps(updates[-1].args.get("blocks"))
    print(f"{len(updates)} chat.update calls for 500 clicks on two instances")


def test_a_reload_on_one_instance_reaches_the_other_and_the_scheduler(
    cluster: Cluster, engine: Engine
) -> None:
    slack = slack_of(cluster)
    slack.set_user("UADMIN", is_admin=True)
    edit_every_prompt(cluster.notes)
    attacks = cluster.notes / "hypervisor-attacks.yaml"
    attacks.write_text(
        attacks.read_text().replace(
            "Hyperjacking is an attack", "Hyperjacking (as edited) is an attack", 1
        )
    )
    assert cluster.instances[0].command("reload", user="UADMIN").status == 200
    assert slack.wait_for(lambda: slack.responses("cmd") != [], timeout=10)
    assert "every process serves it" in slack.responses("cmd")[0]["text"]
    started = time.monotonic()
    seen: list[tuple[float, bool]] = []
    for n in range(30):  # 30 people asking over 7 s, on either instance
        reply = cluster.instances[n % 2].command("what is hyperjacking").json()
        seen.append((time.monotonic() - started, "as edited" in json.dumps(reply["blocks"])))
        time.sleep(0.25)
    late = [new for at, new in seen if at >= 5.0]
    assert len(late) >= 6 and all(late), seen  # every worker of both instances switched
    print(f"first new answer after {min(at for at, new in seen if new):.1f} s")
    # the next daily post, made by the scheduler, comes from the new knowledge base
    with session_factory(engine).begin() as session:
        now = datetime.now(UTC)
        session.add(
            Subscription(
                team_id=TEAM_ID,
                channel_id="CSCHED",
                post_time="00:00",
                timezone="UTC",
                days="everyday",
                starts_on=now.date(),
                created_by="UADMIN",
                created_at=now,
                updated_at=now,
            )
        )
    assert slack.wait_for(
        lambda: any(c.args.get("channel") == "CSCHED" for c in slack.calls_to("chat.postMessage")),
        timeout=15,
    )
    post = next(c for c in slack.calls_to("chat.postMessage") if c.args["channel"] == "CSCHED")
    assert "(v2)" in json.dumps(post.args["blocks"])
    with session_factory(engine).begin() as session:
        assert session.scalar(select(func.count()).select_from(DailyPost)) == 1


def test_one_event_delivered_8_times_to_two_instances_publishes_once(cluster: Cluster) -> None:
    slack = slack_of(cluster)
    threads = [
        threading.Thread(target=deliver, args=(cluster.instances[n % 2], n)) for n in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert slack.wait_for(lambda: len(slack.calls_to("views.publish")) >= 1, timeout=10)
    time.sleep(1.5)  # time for any duplicate to arrive
    assert [c.args["user_id"] for c in slack.calls_to("views.publish")] == ["UHOME"]


def deliver(client: SlackClient, n: int) -> None:
    """Slack's first delivery, or one of its redeliveries (X-Slack-Retry-Num)."""
    if n == 0:
        opened(client, "UHOME", "EvSameOne")
        return
    event: dict[str, Any] = {"type": "app_home_opened", "user": "UHOME", "channel": "D1"}
    event["tab"] = "home"
    assert client.event(event, "EvSameOne", retry=min(n, 3)).status == 200


def edit_every_prompt(notes: Path) -> None:
    """Mark every question's prompt "(v2)", as an edit of the notes would change them."""

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "prompt" and isinstance(value, str):
                    node[key] = "(v2) " + value
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in notes.glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        walk(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000))
