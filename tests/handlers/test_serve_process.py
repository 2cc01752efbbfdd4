"""`virtsec serve` as deployed: gunicorn in its own process, Slack faked on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.fakes.slack_api import FakeSlack
from tests.handlers.conftest import SIGNING_SECRET, SlackClient, validate_blocks

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


def test_virtsec_serve_answers_signed_commands_under_gunicorn(tmp_path: Path) -> None:
    port = free_port()
    with FakeSlack() as slack:
        env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-e2e", "SLACK_SIGNING_SECRET":
               SIGNING_SECRET, "SLACK_API_URL": slack.base_url, "PORT": str(port),
               "DATABASE_URL": f"sqlite:///{tmp_path}/virtsec.db", "VIRTSEC_WEB_WORKERS": "1",
               "VIRTSEC_WEB_THREADS": "4"}
        env.pop("SLACK_APP_TOKEN", None)
        proc = subprocess.Popen([str(VIRTSEC), "serve", "--host", "127.0.0.1"], env=env,
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_healthy(url, proc)
            client = SlackClient(url, slack)
            reply = client.command("what is hyperjacking")
            assert reply.status == 200
            body = reply.json()
            assert body["text"].startswith("Hyperjacking")
            validate_blocks(body["blocks"])
            assert client.command("x", signature="v0=" + "1" * 64).status == 401
            assert client.get("/healthz").json() == {"ok": True, "database": "sqlite"}
        finally:
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=20)
        assert "xoxb-e2e" not in err and SIGNING_SECRET not in err
        assert "Booting worker" in err or "Listening at" in err
