"""The `virtsec` command as a user runs it: a real process, real files."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.commands import DailyOn, Lookup
from bot.core import Core
from bot.knowledge_base import KnowledgeBase
from bot.library import Library
from bot.results import Caller
from bot.scheduling import DaySet
from bot.storage.db import session_factory
from bot.storage.teams import TeamData
from tests.conftest import engine_url
from tests.fakes.clock import Clock
from tests.fakes.recording_channel import RecordingChannel

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
VIRTSEC = Path(sys.executable).parent / "virtsec"
DB_DIR = Path(tempfile.mkdtemp(prefix="virtsec-cli-"))


def run(
    *args: str, stdin: str = "", cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "VIRTSEC_KNOWLEDGE"}
    full_env["DATABASE_URL"] = f"sqlite:///{DB_DIR}/virtsec.db"
    full_env.update(env or {})
    return subprocess.run(
        [str(VIRTSEC), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=full_env,
        timeout=60,
        check=False,
    )


def test_ask_prints_a_readable_sourced_answer_from_any_directory(tmp_path: Path) -> None:
    proc = run("ask", "what", "is", "VM", "escape", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("VM escape")
    assert "Exam tip:" in out and "Sources:" in out and "Related:" in out
    assert "Traceback" not in proc.stderr


def test_ask_json_has_the_documented_shape() -> None:
    proc = run("ask", "--json", "hypervsor")
    data = json.loads(proc.stdout)
    assert set(data) == {"query", "answer", "suggestions"}
    assert data["query"] == "hypervsor"
    assert data["answer"]["id"] == "hypervisor"
    assert set(data["answer"]) == {"id", "title", "score"}
    assert isinstance(data["answer"]["score"], float)


def test_ask_json_lines_from_stdin_one_object_per_query() -> None:
    queries = ["what is vm escape", "weather tomorrow", "", "k8s rbac", "\U0001f600"]
    proc = run("ask", "--json", "-", stdin="\n".join(queries) + "\n")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["query"] for r in rows] == queries
    assert rows[0]["answer"]["id"] == "vm-escape"
    assert rows[1]["answer"] is None
    assert rows[2]["answer"] is None and rows[2]["suggestions"] == []
    assert rows[3]["answer"]["id"] == "kubernetes-rbac"


def test_no_good_match_is_said_honestly() -> None:
    proc = run("ask", "what is a SQL join")
    assert proc.returncode == 0
    assert proc.stdout.startswith('No good match for "what is a SQL join"')


@pytest.mark.parametrize("query", ["", "x" * 10_000, "\x1b[2J\x07", "\U0001f525\U0001f480"])
def test_awkward_queries_do_not_crash(query: str) -> None:
    proc = run("ask", query)
    assert proc.returncode == 0
    assert "Traceback" not in proc.stderr
    assert "No good match" in proc.stdout


def test_kb_lint_on_the_bundled_knowledge_succeeds_with_a_summary() -> None:
    proc = run("kb", "lint")
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.startswith("OK: ")
    assert "concepts" in proc.stdout and "questions" in proc.stdout


def test_kb_lint_lists_every_problem_and_exits_1() -> None:
    proc = run(
        "kb",
        "lint",
        str(FIXTURES / "broken" / "too_long.yaml"),
        str(FIXTURES / "broken" / "unknown_key.yaml"),
    )
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert any(":5: summary: " in line for line in lines)
    assert any(":12: choices: " in line for line in lines)
    assert any(":4: alias: " in line for line in lines)
    assert lines[-1] == "4 problem(s) found."


def test_kb_stats_counts_by_kind_tag_and_answer_position() -> None:
    proc = run("kb", "stats")
    assert proc.returncode == 0
    assert "Concepts by tag:" in proc.stdout
    assert "Correct answer position: A " in proc.stdout


def test_the_bot_refuses_to_start_on_an_invalid_knowledge_base() -> None:
    bad = str(FIXTURES / "broken" / "answer_not_in_choices.yaml")
    proc = run("ask", "hypervisor", env={"VIRTSEC_KNOWLEDGE": bad})
    assert proc.returncode == 2
    assert "answer_not_in_choices.yaml:13: answer:" in proc.stderr
    proc = run("console", stdin="hypervisor\n", env={"VIRTSEC_KNOWLEDGE": bad})
    assert proc.returncode == 2


def test_virtsec_knowledge_points_at_another_knowledge_base() -> None:
    proc = run(
        "ask", "--json", "breaking out of a vm", env={"VIRTSEC_KNOWLEDGE": str(FIXTURES / "valid")}
    )
    assert json.loads(proc.stdout)["answer"]["id"] == "vm-escape"


def test_console_answers_line_by_line_until_quit() -> None:
    proc = run("console", stdin="what is a hypervisor?\nweather tomorrow\nquit\nvm escape\n")
    assert proc.returncode == 0
    assert "Hypervisor\n==========" in proc.stdout
    assert 'No good match for "weather tomorrow"' in proc.stdout
    assert "VM escape\n" not in proc.stdout  # after quit nothing more is answered


def test_console_runs_slash_commands_and_a_practice_question() -> None:
    script = (
        "\n".join(
            [
                "/virtsec what is VM escape",
                "/virtsec quiz",
                "B",
                "/virtsec leaderboard",
                "/virtsec topics containers",
                "/virtsec daily on 25:00",
                "/virtsec help",
                "quit",
            ]
        )
        + "\n"
    )
    proc = run("console", stdin=script)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "VM escape\n=========" in out
    assert "Practice question (" in out and "Answer with a letter" in out
    assert ("Correct: B." in out) or ("Not quite. You chose B;" in out)
    assert "No daily questions in this channel yet" in out
    assert "containers (" in out
    assert "Error: “25:00” is not a time" in out
    assert "/virtsec leaderboard [week|month|all]" in out


def test_a_letter_without_a_waiting_question_says_so() -> None:
    proc = run("console", stdin="B\nquit\n")
    assert "No question is waiting for an answer." in proc.stdout


def test_the_console_keeps_the_question_until_it_is_answered(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/console.db"}
    script = "/virtsec post\n/virtsec quiz\nE\nwhat is vm escape\nA\nB\nweekly\nquit\n"
    proc = run("console", stdin=script, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    # a letter that is not a choice keeps the practice question and says which letters are
    valid = re.search(
        r"E is not one of the choices: answer the practice question with a "
        r"letter from A to ([A-D])\.",
        out,
    )
    assert valid is not None
    assert "No good match" not in out.split("E is not one")[1].split("VM escape")[0]
    # a lookup in between keeps it too; the next letter answers the practice question
    assert "VM escape\n=========" in out
    assert "[Practice question] " in out
    # and the one after, with the practice question answered, the daily question
    assert "[Daily question] " in out
    assert out.index("[Practice question] ") < out.index("[Daily question] ")
    assert "Usage: /virtsec weekly on|off" in out


def test_serve_without_tokens_names_what_is_missing(tmp_path: Path) -> None:
    env = {"SLACK_BOT_TOKEN": "", "SLACK_SIGNING_SECRET": "", "SLACK_APP_TOKEN": ""}
    proc = run("serve", cwd=tmp_path, env=env)
    assert proc.returncode == 2
    assert "SLACK_BOT_TOKEN is not set" in proc.stderr
    assert "SLACK_SIGNING_SECRET is not set" in proc.stderr
    proc = run("serve", "--socket", cwd=tmp_path, env={**env, "SLACK_BOT_TOKEN": "xoxb-1"})
    assert proc.returncode == 2
    assert "SLACK_APP_TOKEN is not set" in proc.stderr
    assert "xoxb-1" not in proc.stderr + proc.stdout


def test_bad_configuration_is_reported_before_anything_starts(tmp_path: Path) -> None:
    proc = run("console", cwd=tmp_path, env={"PORT": "http"}, stdin="quit\n")
    assert proc.returncode == 2
    assert "PORT must be a number" in proc.stderr


def test_every_problem_of_serve_is_reported_at_once_and_nothing_is_created(
    tmp_path: Path,
) -> None:
    env = {
        "PORT": "abc",
        "SLACK_BOT_TOKEN": "xoxp-not-a-bot",
        "SLACK_SIGNING_SECRET": "",
        "DATABASE_URL": f"sqlite:///{tmp_path}/virtsec.db",
    }
    proc = run("serve", cwd=tmp_path, env=env)
    assert proc.returncode == 2
    assert "PORT must be a number" in proc.stderr
    assert "SLACK_BOT_TOKEN does not look like a bot token" in proc.stderr
    assert "SLACK_SIGNING_SECRET is not set" in proc.stderr
    assert "xoxp-not-a-bot" not in proc.stderr
    assert list(tmp_path.iterdir()) == []  # no virtsec.db, no lock file


def test_db_upgrade_says_what_it_did(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/fresh.db"}
    first = run("db", "upgrade", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert re.search(
        r"Created the database schema at sqlite:///.*fresh\.db: \d+ tables, "
        r"revision \d{4}\.",
        first.stdout,
    )
    again = run("db", "upgrade", cwd=tmp_path, env=env)
    assert re.search(r"is up to date \(revision \d{4}\)\.", again.stdout)


def test_console_daily_question_flow_on_the_same_database(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/console.db"}
    script = (
        "\n".join(
            [
                "/virtsec post",
                "A",
                "B",
                "/virtsec stats",
                "/virtsec post",
                "/virtsec leaderboard",
                "quit",
            ]
        )
        + "\n"
    )
    proc = run("console", stdin=script, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.count("*** Daily practice question") == 2
    assert ("Correct:" in out and "(one point)" in out) or "Not this time. You chose A" in out
    assert "You already answered A." in out
    assert "Daily: 1 answered" in out
    assert "Due for review: 0" in out
    assert "*** Closed: the answer is" in out
    assert "Leaderboard, all time" in out
    # a second session sees the same database
    proc = run("console", stdin="/virtsec stats\nquit\n", env=env, cwd=tmp_path)
    assert "Daily: 1 answered" in proc.stdout


def test_team_purge_counts_first_and_deletes_one_workspace_only_with_yes(
    engine: Engine, kb: KnowledgeBase, tmp_path: Path
) -> None:
    clock = Clock(datetime(2026, 1, 12, 8, 0, tzinfo=UTC))
    core = Core(Library(lambda: kb), session_factory(engine), RecordingChannel(), clock=clock)
    for team in ("TGONE", "TKEPT"):
        admin = Caller(team, "UADMIN", "C1", is_admin=True)
        core.schedules.subscribe(admin, DailyOn(time(9, 0), "UTC", DaySet.EVERYDAY))
        core.scheduler.post_now(admin)
        post_id = core.answering.open_post_id(team, "C1")
        core.answering.answer(team, "U1", f"{post_id}:0")
        core.execute(Lookup("what is the capital of France"), admin)
    assert core.wait_idle()
    env = {"DATABASE_URL": engine_url(engine)}
    dry = run("team", "purge", "TGONE", cwd=tmp_path, env=env)
    assert dry.returncode == 1, dry.stderr
    assert "Nothing was deleted; add --yes" in dry.stdout and "answers 1" in dry.stdout
    done = run("team", "purge", "TGONE", "--yes", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Deleted everything stored for TGONE:")
    with session_factory(engine).begin() as session:
        assert TeamData(session).counts("TGONE") == {}
        kept = TeamData(session).counts("TKEPT")
    assert {"subscriptions", "daily_posts", "answers", "scores", "lookup_events"} <= set(kept)
    bad = run("team", "purge", "not-a-team; drop table", cwd=tmp_path, env=env)
    assert bad.returncode == 2 and "is not a Slack team id" in bad.stderr
