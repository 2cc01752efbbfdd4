"""OAuth distribution: what an install and a request's authorize step cost.

Against the fake Slack on loopback and PostgreSQL (VIRTSEC_BENCH_POSTGRES_URL or
VIRTSEC_TEST_POSTGRES_URL; SQLite with --sqlite), this script
- installs the app in N workspaces (default 1,000) through `virtsec serve` (gunicorn), each
  the way a browser does: GET /slack/install, Slack's approval, GET /slack/oauth_redirect
  with the state cookie, and prints p50/p99 of the redirect (state check, oauth.v2.access,
  auth.test, saving the installation) and of the install page;
- then times Bolt's authorize step as each request runs it (the installation read from the
  database for a random one of the N workspaces), p50/p99 over --requests calls: without a
  cache (every request also calls auth.test), and with virtsec's cache of the auth.test
  answer per token (the installation is still read each time, so an uninstall or a rotation
  is seen at once).

Run: ``.venv/bin/python benchmarks/oauth.py [--workspaces 1000] [--requests 3000] [--sqlite]``
"""

from __future__ import annotations

import argparse
import html
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from slack_bolt import BoltContext  # noqa: E402
from slack_sdk import WebClient  # noqa: E402
from sqlalchemy import Engine  # noqa: E402

from benchmarks.common import free_port, pct, postgres_schema, postgres_url, wait_healthy  # noqa: E402
from bot.core import utc_now  # noqa: E402
from bot.storage.db import make_engine, session_factory  # noqa: E402
from bot.storage.migrate import upgrade  # noqa: E402
from bot.workspaces import Workspaces  # noqa: E402
from handlers.app import workspace_store  # noqa: E402
from handlers.installations import CachedAuthorize  # noqa: E402
from handlers.web_api import build_client  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.handlers.conftest import settings_for  # noqa: E402
from tests.handlers.test_serve_process import VIRTSEC, slack_env  # noqa: E402

CLIENT_ID, CLIENT_SECRET = "1111.2222", "bench-client-secret"
BUTTON = re.compile(r'<a href="([^"]+)"><img alt="Add to Slack"')


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def install_all(base: str, slack: FakeSlack, teams: list[str]) -> tuple[list[float], list[float]]:
    """Install in every team as a browser does; (install page times, redirect times)."""
    pages, redirects = [], []
    for team in teams:
        started = time.perf_counter()
        with urllib.request.urlopen(base + "/slack/install", timeout=10) as resp:
            body = resp.read().decode()
            cookie = resp.headers["Set-Cookie"].split(";", 1)[0]
        pages.append(time.perf_counter() - started)
        found = BUTTON.search(body)
        assert found is not None
        query = slack.approve(html.unescape(found.group(1)), team)
        request = urllib.request.Request(
            base + "/slack/oauth_redirect?" + urllib.parse.urlencode(query),
            headers={"Cookie": cookie},
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 200 and b"virtsec is installed" in resp.read()
        redirects.append(time.perf_counter() - started)
    return pages, redirects


def time_authorize(
    engine: Engine, slack: FakeSlack, teams: list[str], requests: int, cache: bool
) -> list[float]:
    settings = settings_for(
        slack,
        Path("/nonexistent"),
        slack_bot_token="",
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
    )
    workspaces = Workspaces(session_factory(engine), utc_now)
    store = workspace_store(settings, engine, workspaces, build_client(settings))
    authorize = CachedAuthorize(store, settings, cache=cache)
    rng = random.Random(14)
    samples = []
    for n in range(requests + 200):
        team = rng.choice(teams)
        context = BoltContext({"client": WebClient(base_url=slack.base_url, timeout=10)})
        started = time.perf_counter()
        result = authorize(context=context, enterprise_id=None, team_id=team, user_id="U1")
        elapsed = time.perf_counter() - started
        assert result is not None and result.team_id == team
        if n >= 200:  # warm-up: connections opened, SQL compiled
            samples.append(elapsed)
    return samples


def run(url: str, engine: Engine, workspaces: int, requests: int) -> None:
    upgrade(engine)
    teams = [f"T{n:08d}" for n in range(workspaces)]
    with FakeSlack(rate_limits=False) as slack, tempfile.TemporaryDirectory() as tmp:
        slack.register_app(CLIENT_ID, CLIENT_SECRET)
        port = free_port()
        env = slack_env(
            slack,
            PORT=str(port),
            DATABASE_URL=url,
            SLACK_BOT_TOKEN="",
            SLACK_CLIENT_ID=CLIENT_ID,
            SLACK_CLIENT_SECRET=CLIENT_SECRET,
        )
        log = Path(tmp) / "serve.log"  # a log line per install: a pipe would fill up
        with log.open("w") as out:
            proc = subprocess.Popen(
                [str(VIRTSEC), "serve", "--host", "127.0.0.1"], env=env, cwd=tmp, stderr=out
            )
            try:
                wait_healthy(port, proc, "/healthz")
                pages, redirects = install_all(f"http://127.0.0.1:{port}", slack, teams)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
        print(f"{workspaces} installs through virtsec serve (gunicorn, 2 workers):")
        print(f"  GET /slack/install        p50 {ms(pct(pages, 50))}  p99 {ms(pct(pages, 99))}")
        print(
            f"  GET /slack/oauth_redirect p50 {ms(pct(redirects, 50))}  "
            f"p99 {ms(pct(redirects, 99))}  (max {ms(max(redirects))})"
        )
        print(f"authorize per request, {requests} requests over {workspaces} workspaces:")
        for cache in (False, True):
            samples = time_authorize(engine, slack, teams, requests, cache)
            label = "auth.test cached per token" if cache else "no cache (auth.test each time)"
            print(f"  {label:<31} p50 {ms(pct(samples, 50))}  p99 {ms(pct(samples, 99))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workspaces", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    args = parser.parse_args()
    pg = postgres_url()
    if args.sqlite or not pg:
        if not args.sqlite:
            print("no PostgreSQL URL set: measuring on SQLite")
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            engine = make_engine(url)
            try:
                run(url, engine, args.workspaces, args.requests)
            finally:
                engine.dispose()
        return
    with postgres_schema(pg) as (url, engine):
        print("PostgreSQL")
        run(url, engine, args.workspaces, args.requests)


if __name__ == "__main__":
    main()
