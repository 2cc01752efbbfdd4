"""`virtsec serve` as deployed: gunicorn in its own process, Slack faked on loopback."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from bot.storage.tables import Score, StoredAnswer
from tests.fakes.slack_api import FakeSlack
from tests.handlers.conftest import SIGNING_SECRET, SlackClient, validate_blocks
from tests.handlers.test_daily_slack import answer_buttons, count_rows, post_question

VIRTSEC = Path(sys.executable).parent / "virtsec"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_healthy(url: str, proc: subprocess.Popen[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise AssertionError("virtsec serve did not become healthy")


def slack_env(slack: FakeSlack, **extra: str) -> dict[str, str]:
    """The environment of a virtsec process talking to the fake Slack, as deployed."""
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-e2e",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.base_url,
        "SLACK_RESPONSE_URL_HOSTS": "127.0.0.1",
        **extra,
    }
    for name in ("SLACK_APP_TOKEN", "VIRTSEC_WEB_WORKERS", "WEB_CONCURRENCY"):
        if name not in extra:
            env.pop(name, None)
    return env


def start_serve(tmp_path: Path, slack: FakeSlack, port: int, **extra: str) -> subprocess.Popen[str]:
    """`virtsec serve` with the fake Slack's URL and the given settings, as deployed."""
    env = slack_env(slack, PORT=str(port), **extra)
    proc = subprocess.Popen(
        [str(VIRTSEC), "serve", "--host", "127.0.0.1"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", proc)
    except BaseException:
        proc.kill()
        proc.communicate(timeout=20)
        raise
    return proc


def test_virtsec_serve_answers_signed_commands_under_gunicorn(tmp_path: Path) -> None:
    port = free_port()
    with FakeSlack() as slack:
        proc = start_serve(
            tmp_path,
            slack,
            port,
            DATABASE_URL=f"sqlite:///{tmp_path}/virtsec.db",
            VIRTSEC_WEB_WORKERS="1",
            VIRTSEC_WEB_THREADS="4",
        )
        try:
            url = f"http://127.0.0.1:{port}"
            client = SlackClient(url, slack)
            reply = client.command("what is hyperjacking")
            assert reply.status == 200
            body = reply.json()
            assert body["text"].startswith("Hyperjacking")
            validate_blocks(body["blocks"])
            assert client.command("x", signature="v0=" + "1" * 64).status == 401
            assert client.get("/healthz").json() == {"ok": True, "database": "ok"}
        finally:
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=20)
        assert "xoxb-e2e" not in err and SIGNING_SECRET not in err
        assert "Booting worker" in err or "Listening at" in err


def test_two_workers_on_sqlite_score_concurrent_clicks_exactly(tmp_path: Path) -> None:
    # the default: two gunicorn worker processes writing one SQLite file
    port = free_port()
    db = f"sqlite:///{tmp_path}/virtsec.db"
    with FakeSlack() as slack:
        proc = start_serve(tmp_path, slack, port, DATABASE_URL=db, VIRTSEC_ADMINS="UADMIN")
        try:
            url = f"http://127.0.0.1:{port}"
            client = SlackClient(url, slack)
            buttons = answer_buttons(post_question(client, slack))
            statuses: list[int] = []

            def person(k: int) -> None:
                for click in range(3):
                    reply = client.click(
                        "daily_answer",
                        buttons[(k + click) % len(buttons)]["value"],
                        user=f"U{k:03d}",
                        ephemeral=False,
                        response_url=slack.response_url(f"u{k}"),
                    )
                    statuses.append(reply.status)

            threads = [threading.Thread(target=person, args=(k,)) for k in range(40)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            assert statuses == [200] * 120
            assert slack.wait_for(
                lambda: all(len(slack.responses(f"u{k}")) == 3 for k in range(40)), timeout=30
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=20)
    assert err.count("Booting worker") == 2
    assert "Traceback" not in err and "locked" not in err
    assert count_rows(db, StoredAnswer) == 40
    assert count_rows(db, Score) == 40
    right = count_rows(db, StoredAnswer, StoredAnswer.correct)
    assert count_rows(db, Score, Score.points == 1) == right
    for k in range(40):  # one verdict each; the later clicks are told they already answered
        texts = sorted(r["text"] for r in slack.responses(f"u{k}"))
        assert [t.startswith(("Correct!", "Not this time")) for t in texts].count(True) == 1
        assert sum("already answered" in t for t in texts) == 2


def test_slow_bodies_are_cut_off_and_lookups_keep_answering(tmp_path: Path) -> None:
    port = free_port()
    with FakeSlack() as slack:
        proc = start_serve(
            tmp_path,
            slack,
            port,
            DATABASE_URL=f"sqlite:///{tmp_path}/virtsec.db",
            VIRTSEC_WEB_WORKERS="1",
            VIRTSEC_WEB_THREADS="4",
        )
        slow: list[socket.socket] = []
        try:
            for _ in range(10):  # more slow clients than the worker has threads
                sock = socket.create_connection(("127.0.0.1", port), timeout=20)
                sock.sendall(
                    b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\n"
                    b"Content-Length: 100000\r\n\r\n"
                )
                slow.append(sock)
            time.sleep(0.5)
            started = time.monotonic()
            reply = SlackClient(f"http://127.0.0.1:{port}", slack).command("what is vm escape")
            assert reply.status == 200 and reply.json()["text"].startswith("VM escape")
            lookup_seconds = time.monotonic() - started
            # not a minute: each slow body gets 2 s, and 10 of them take 4 threads 3 turns
            assert lookup_seconds < 8, lookup_seconds
            answers = [sock.recv(200) for sock in slow]
            assert all(a.startswith(b"HTTP/1.1 408") for a in answers), answers
            # a body that trickles in, a byte a second, is cut off too
            trickle = socket.create_connection(("127.0.0.1", port), timeout=20)
            slow.append(trickle)
            trickle.sendall(
                b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 1000\r\n\r\n"
            )
            started = time.monotonic()
            trickle.setblocking(False)
            answer = b""
            while not answer and time.monotonic() - started < 15:
                with contextlib.suppress(OSError):
                    trickle.send(b"x")
                time.sleep(1)
                with contextlib.suppress(BlockingIOError):
                    answer = trickle.recv(200)
            assert answer.startswith(b"HTTP/1.1 408"), answer
            assert time.monotonic() - started < 5
            print(f"a lookup behind 10 slow clients: {lookup_seconds:.1f} s")
        finally:
            for sock in slow:
                sock.close()
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=20)
