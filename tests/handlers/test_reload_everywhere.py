"""`/virtsec reload` in one process is served by every process: two apps (as two web
workers or instances) on one database, each with its own copy of the knowledge base."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from bot import knowledge_base
from bot.library import Library
from tests.fakes.slack_api import FakeSlack
from tests.handlers.conftest import SlackClient

Serve = Callable[..., SlackClient]


def summary_seen(client: SlackClient) -> str:
    return str(client.command("what is hyperjacking").json()["blocks"][1]["text"]["text"])


def two_processes(
    serve: Serve, fake_slack: FakeSlack, engine: Engine, tmp_path: Path
) -> tuple[Path, SlackClient, SlackClient]:
    """A copy of the bundled notes, served by two apps on one database; UADMIN is an admin."""
    notes = tmp_path / "knowledge"
    shutil.copytree(knowledge_base.bundled_knowledge_dir(), notes)
    first = serve(engine=engine, knowledge=Library(lambda: knowledge_base.load([notes])))
    second = serve(engine=engine, knowledge=Library(lambda: knowledge_base.load([notes])))
    fake_slack.set_user("UADMIN", is_admin=True)
    return notes, first, second


def test_a_reload_in_one_process_reaches_the_others_within_seconds(
    serve: Serve, fake_slack: FakeSlack, engine: Engine, tmp_path: Path
) -> None:
    notes, first, second = two_processes(serve, fake_slack, engine, tmp_path)
    before = summary_seen(second)
    edited = notes / "hypervisor-attacks.yaml"
    edited.write_text(
        edited.read_text().replace(
            "Hyperjacking is an attack", "Hyperjacking (as edited) is an attack", 1
        )
    )
    first.command("reload", user="UADMIN")
    assert fake_slack.wait_for(lambda: fake_slack.responses("cmd") != [])
    assert "every process serves it" in fake_slack.responses("cmd")[0]["text"]
    started = time.monotonic()
    seen = [summary_seen(second)]
    while "as edited" not in seen[-1] and time.monotonic() - started < 5:
        time.sleep(0.2)  # a person asking again
        seen.append(summary_seen(second))
    assert "as edited" in seen[-1] and "as edited" not in before
    assert "as edited" in summary_seen(first)


def test_a_broken_knowledge_base_is_refused_everywhere(
    serve: Serve, fake_slack: FakeSlack, engine: Engine, tmp_path: Path
) -> None:
    notes, first, second = two_processes(serve, fake_slack, engine, tmp_path)
    (notes / "broken.yaml").write_text("concepts:\n  - id: [not, a, slug]\n")
    first.command("reload", user="UADMIN")
    assert fake_slack.wait_for(lambda: fake_slack.responses("cmd") != [])
    assert "still using the previous one" in fake_slack.responses("cmd")[0]["text"]
    assert "broken.yaml" in fake_slack.responses("cmd")[0]["text"]
    started = time.monotonic()
    while time.monotonic() - started < 2.5:  # past the other process's next look
        for client in (first, second):
            assert summary_seen(client).startswith("Hyperjacking is an attack")
