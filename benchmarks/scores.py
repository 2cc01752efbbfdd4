"""Scores at scale: 10,000 people x 365 daily questions (3.65 M answers) in one channel.

For SQLite and for PostgreSQL (when VIRTSEC_BENCH_POSTGRES_URL or
VIRTSEC_TEST_POSTGRES_URL is set) this script loads the data, then prints
p50/p99 latency of
- `/virtsec leaderboard` (all time, and this week) and `/virtsec stats`, through
  the core service on the real database;
- an answer click over HTTP: signed `block_actions` requests into `virtsec serve`
  (gunicorn) at concurrency 20 (two client processes of 10 kept-alive connections,
  each sending its next click when the last was answered), each a first answer by a
  person, with its own response_url, so every request writes an answer, updates a
  score and sends a private reply. The first second (connections opening, SQL compiled
  in each worker) is warm-up and not counted.

Run: ``.venv/bin/python benchmarks/scores.py [--users 10000] [--days 365] [--seconds 15]
[--rounds 3] [--databases sqlite,postgresql] [--instances 1,2]``

Each click round runs with one `virtsec serve` instance and with two on the same
database (four gunicorn workers in all), and counts the live-count refreshes
(chat.update) each post got and the shortest gap between two of one post.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing as mp
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from slack_sdk.signature import SignatureVerifier  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from benchmarks.common import (  # noqa: E402
    bulk_insert,
    free_port,
    pct,
    postgres_schema,
    postgres_url,
    wait_healthy,
)
from bot import knowledge_base  # noqa: E402
from bot.core import Core  # noqa: E402
from bot.library import Library  # noqa: E402
from bot.results import Caller  # noqa: E402
from bot.scoring import Period  # noqa: E402
from bot.storage.db import make_engine, session_factory  # noqa: E402
from bot.storage.migrate import upgrade  # noqa: E402
from tests.fakes.recording_channel import RecordingChannel  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402

TEAM, CHANNEL = "T0TEST", "CBENCH"
SECRET = "bench-signing-secret"
SIGNER = SignatureVerifier(SECRET)
BIN = Path(sys.executable).parent


def generate(engine: Engine, users: int, days: int, seed: int = 3) -> date:
    """Load posts, answers and running scores; returns the last day."""
    rng = random.Random(seed)
    kb = knowledge_base.load()
    question_ids = sorted(kb.questions)
    answer_index = {q: kb.questions[q].answer_index for q in question_ids}
    first = date(2026, 1, 1)
    last = first + timedelta(days=days - 1)
    skill = [rng.uniform(0.3, 0.95) for _ in range(users)]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO subscriptions (team_id, channel_id, post_time, timezone, "
                "days, close_time, enabled, created_by, created_at, updated_at) "
                "VALUES (:t, :c, '09:00', 'UTC', 'everyday', NULL, :e, 'U0', :n, :n)"
            ),
            {"t": TEAM, "c": CHANNEL, "n": now, "e": True},
        )
        for d in range(days):
            day = first + timedelta(days=d)
            conn.execute(
                text(
                    "INSERT INTO daily_posts (id, team_id, channel_id, slot, local_date, "
                    "question_id, status, claim_token, claimed_at, message_ts, posted_at, "
                    "closed_at, previous_post_id, shown_count) VALUES (:id, :t, :c, "
                    ":slot, :day, :q, :status, 'x', :n, :ts, :n, :n, :prev, :cnt)"
                ),
                {
                    "id": d + 1,
                    "t": TEAM,
                    "c": CHANNEL,
                    "slot": day.isoformat(),
                    "day": day,
                    "q": question_ids[d % len(question_ids)],
                    "status": "closed",
                    "n": now,
                    "ts": f"1700000000.{d:06d}",
                    "prev": d or None,
                    "cnt": users,
                },
            )
    totals = [[0, 0, 0, 0, 0, None] for _ in range(users)]  # pts, ans, corr, cur, best, post
    periods: dict[tuple[int, str, date], int] = {}  # (user, week|month, start) -> points

    def rows() -> Any:
        for d in range(days):
            day = first + timedelta(days=d)
            q = question_ids[d % len(question_ids)]
            right = answer_index[q]
            for u in range(users):
                correct = rng.random() < skill[u]
                t = totals[u]
                t[0] += correct
                t[1] += 1
                t[2] += correct
                t[3] = t[3] + 1 if correct else 0
                t[4] = max(t[4], t[3])
                t[5] = d + 1 if correct else None
                if correct:
                    for key in (
                        (u, "week", day - timedelta(days=day.weekday())),
                        (u, "month", day.replace(day=1)),
                    ):
                        periods[key] = periods.get(key, 0) + 1
                yield (
                    TEAM,
                    CHANNEL,
                    f"U{u:05d}",
                    "daily",
                    d + 1,
                    q,
                    right if correct else (right + 1) % 4,
                    correct,
                    day,
                    datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC),
                )

    columns = (
        "team_id",
        "channel_id",
        "user_id",
        "kind",
        "post_id",
        "question_id",
        "choice",
        "correct",
        "local_date",
        "answered_at",
    )
    bulk_insert(engine, "answers", columns, rows())
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO scores (team_id, channel_id, user_id, points, answered, "
                "correct, current_streak, best_streak, streak_post_id) VALUES "
                "(:t, :c, :u, :p, :a, :k, :cur, :best, :sp)"
            ),
            [
                {
                    "t": TEAM,
                    "c": CHANNEL,
                    "u": f"U{u:05d}",
                    "p": t[0],
                    "a": t[1],
                    "k": t[2],
                    "cur": t[3],
                    "best": t[4],
                    "sp": t[5],
                }
                for u, t in enumerate(totals)
            ],
        )
        conn.execute(
            text(
                "INSERT INTO period_scores (team_id, channel_id, user_id, period, "
                "start, points) VALUES (:t, :c, :u, :per, :s, :p)"
            ),
            [
                {"t": TEAM, "c": CHANNEL, "u": f"U{u:05d}", "per": per, "s": start, "p": pts}
                for (u, per, start), pts in periods.items()
            ],
        )
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval('daily_posts_id_seq', :n)"), {"n": days})
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
    return last


def measure_core(engine: Engine, users: int, last: date, runs: int = 200) -> dict[str, Any]:
    clock_now = datetime(last.year, last.month, last.day, 12, 0, tzinfo=UTC)
    core = Core(
        Library(knowledge_base.load),
        session_factory(engine),
        RecordingChannel(),
        clock=lambda: clock_now,
    )
    rng = random.Random(5)
    out: dict[str, Any] = {}
    for label, call in (
        ("leaderboard all", lambda c: core.boards.leaderboard(c, Period.ALL)),
        ("leaderboard week", lambda c: core.boards.leaderboard(c, Period.WEEK)),
        ("stats", lambda c: core.boards.stats(c)),
    ):
        times = []
        for i in range(runs + 10):
            caller = Caller(TEAM, f"U{rng.randrange(users):05d}", CHANNEL)
            t0 = time.perf_counter()
            call(caller)
            if i >= 10:  # warm-up
                times.append((time.perf_counter() - t0) * 1000)
        out[label] = (pct(times, 50), pct(times, 99))
    return out


CLICK_POSTS = 10  # enough first answers for 10,000 people clicking for a minute
LOADERS = 2  # load-generating processes, so the client's own GIL is not the bottleneck
WARM_UP = 1.0  # seconds not counted: each worker opens its connections, compiles its SQL


def _signed(body: bytes, port: int) -> bytes:
    """A whole HTTP request for /slack/events, signed as Slack signs it."""
    ts = str(int(time.time()))
    signature = SIGNER.generate_signature(timestamp=ts, body=body)
    return (
        f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nX-Slack-Request-Timestamp: {ts}\r\n"
        f"X-Slack-Signature: {signature}\r\n\r\n"
    ).encode() + body


def _exchange(sock: socket.socket, request: bytes) -> tuple[int, bool]:
    """Send one request on a kept-alive socket; (HTTP status, server keeps it open)."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed in the body")
        body += chunk
    return int(lines[0].split()[1]), headers.get("connection", "").lower() != "close"


def click_load(
    port: int,
    post_id: int,
    users: int,
    seconds: float,
    threads: int,
    first: int,
    step: int,
    response_url: str,
    queue: Any,
) -> None:
    """Runs in its own process: `threads` connections sending signed first answers, each
    as soon as the previous one was answered. Loader k of n takes clicks k, k+n, k+2n...

    The payload is a real block_actions body; only the person, the post and the
    response_url differ between clicks, so they are substituted into a pre-encoded
    template, and responses are read with a minimal parser: the client spends little
    CPU, which the 2-core machine shares with the server."""
    template = urllib.parse.urlencode(
        {
            "payload": json.dumps(
                {
                    "type": "block_actions",
                    "team": {"id": TEAM, "domain": "b"},
                    "user": {"id": "UXUSERX", "username": "b", "team_id": TEAM},
                    "api_app_id": "A0",
                    "trigger_id": "1",
                    "container": {
                        "type": "message",
                        "message_ts": "1800000000.000001",
                        "channel_id": CHANNEL,
                        "is_ephemeral": False,
                    },
                    "channel": {"id": CHANNEL, "name": "b"},
                    "message": {"ts": "1800000000.000001", "text": "q", "blocks": []},
                    "response_url": response_url + "XREPLYX",
                    "actions": [
                        {
                            "type": "button",
                            "action_id": "daily_answer",
                            "block_id": "b",
                            "value": "XVALUEX",
                            "action_ts": "1",
                        }
                    ],
                }
            )
        }
    )
    counter = iter(range(first, users * CLICK_POSTS, step))
    lock = threading.Lock()
    samples: list[tuple[float, float]] = []  # (sent at, latency ms)
    errors = [0]
    start = time.monotonic()
    stop_at = start + seconds

    def worker() -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        while time.monotonic() < stop_at:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            # person by person through the first post, then the next: always a first answer
            post, u = post_id + n // users, n % users
            body = (
                template.replace("UXUSERX", f"U{u:05d}")
                .replace("XVALUEX", f"{post}%3A{u % 4}")
                .replace("XREPLYX", str(n))
            ).encode()
            request = _signed(body, port)
            t0 = time.monotonic()
            try:
                status, keep = _exchange(sock, request)
            except OSError:
                status, keep = 0, False
            latency = (time.monotonic() - t0) * 1000
            with lock:
                if status == 200:
                    samples.append((t0 - start, latency))
                else:
                    errors[0] += 1
            if not keep:
                sock.close()
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    queue.put((samples, errors[0], time.monotonic() - start))


@dataclass
class ClickRun:
    """One round of clicks: latency, throughput, errors, and the live-count refreshes
    (chat.update) each post got, with the shortest gap between two of one post."""

    p50: float
    p99: float
    rps: float
    errors: int
    updates_per_post: list[int]
    shortest_gap: float | None


def measure_clicks(
    db_url: str,
    engine: Engine,
    users: int,
    seconds: float,
    concurrency: int,
    round_: int = 0,
    instances: int = 1,
) -> ClickRun:
    """Signed answer clicks into fresh `virtsec serve` instances (each with its default
    two workers; the loaders split between them), on posts of their own."""
    post_id = 100_000 + round_ * CLICK_POSTS + instances * 1_000
    now = datetime.now(UTC)
    question = sorted(knowledge_base.load().questions)[0]
    with engine.begin() as conn:
        for k in range(CLICK_POSTS):  # open posts, each answered by everyone in turn
            conn.execute(
                text(
                    "INSERT INTO daily_posts (id, team_id, channel_id, slot, local_date, "
                    "question_id, status, claim_token, claimed_at, message_ts, posted_at, "
                    "previous_post_id, shown_count) VALUES (:id, :t, :c, :slot, "
                    ":day, :q, 'posted', 'x', :n, :ts, :n, :prev, 0)"
                ),
                {
                    "ts": _message_ts(post_id + k),
                    "id": post_id + k,
                    "t": TEAM,
                    "c": CHANNEL,
                    "q": question,
                    "slot": f"bench:{uuid.uuid4().hex}",
                    "day": now.date(),
                    "n": now,
                    "prev": post_id + k - 1 if k else None,
                },
            )
    ports = [free_port() for _ in range(instances)]
    with FakeSlack() as slack:
        for k in range(CLICK_POSTS):  # the posts' messages, for chat.update to find
            slack.seed_message(CHANNEL, _message_ts(post_id + k))
        log = Path(tempfile.mkdtemp()) / "serve.log"
        log_file = log.open("w")
        procs = []
        for port in ports:
            env = {
                **os.environ,
                "SLACK_BOT_TOKEN": "xoxb-bench",
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": slack.base_url,
                "SLACK_RESPONSE_URL_HOSTS": "127.0.0.1",
                "DATABASE_URL": db_url,
                "PORT": str(port),
            }
            env.pop("SLACK_APP_TOKEN", None)
            procs.append(
                subprocess.Popen(
                    [str(BIN / "virtsec"), "serve", "--host", "127.0.0.1"],
                    env=env,
                    stdout=log_file,
                    stderr=log_file,
                    cwd=log.parent,
                )
            )
        try:
            for port, proc in zip(ports, procs, strict=True):
                wait_healthy(port, proc, "/healthz")
            spawn = mp.get_context("spawn")
            queue: Any = spawn.Queue()
            loaders = [
                spawn.Process(
                    target=click_load,
                    args=(
                        ports[k % instances],
                        post_id,
                        users,
                        seconds,
                        concurrency // LOADERS,
                        k,
                        LOADERS,
                        slack.response_url("click-"),
                        queue,
                    ),
                )
                for k in range(LOADERS)
            ]
            for loader in loaders:
                loader.start()
            results = [queue.get(timeout=seconds + 120) for _ in loaders]
            for loader in loaders:
                loader.join()
            time.sleep(3)  # the last count refreshes of the burst
            updates: dict[str, list[float]] = {}
            for call in slack.calls_to("chat.update"):
                updates.setdefault(str(call.args.get("ts")), []).append(call.at)
            rate_limited = slack.rate_limited
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                proc.wait(timeout=30)
            log_file.close()
    if rate_limited:
        print(f"  Slack answered {len(rate_limited)} calls with 429 (over its rate limits)")
    errors = sum(r[1] for r in results)
    if errors:
        errors_seen = [
            line for line in log.read_text().splitlines() if "Error" in line or "error" in line
        ]
        print("  server errors (last 5):", *errors_seen[-5:], sep="\n    ")
    counted = [ms for r in results for at, ms in r[0] if at >= WARM_UP]
    elapsed = max(r[2] for r in results) - WARM_UP
    gaps = [b - a for times in updates.values() for a, b in itertools.pairwise(times)]
    return ClickRun(
        pct(counted, 50),
        pct(counted, 99),
        len(counted) / elapsed,
        errors,
        [len(times) for times in updates.values()],
        min(gaps) if gaps else None,
    )


def _message_ts(post_id: int) -> str:
    return f"18{post_id:08d}.000001"


def run(label: str, db_url: str, engine: Engine, args: argparse.Namespace) -> None:
    print(f"\n{label}")
    t0 = time.perf_counter()
    upgrade(engine)
    last = generate(engine, args.users, args.days)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM answers")).scalar_one()
    print(f"  loaded {n:,} answers in {time.perf_counter() - t0:.0f} s")
    for name, (p50, p99) in measure_core(engine, args.users, last).items():
        print(f"  {name:<18} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")
    # a shared 2-core VM runs the same work 10-30 % faster or slower from minute to
    # minute: several rounds, interleaved between 1 and 2 instances, and their medians
    counts = [int(n) for n in args.instances.split(",")]
    rounds: dict[int, list[ClickRun]] = {n: [] for n in counts}
    for r in range(args.rounds):
        for n in counts:
            run = measure_clicks(
                db_url, engine, args.users, args.seconds, args.concurrency, r, instances=n
            )
            rounds[n].append(run)
            gap = f"{run.shortest_gap:.2f} s" if run.shortest_gap is not None else "-"
            print(
                f"  answer click HTTP  p50 {run.p50:7.2f} ms   p99 {run.p99:7.2f} ms   "
                f"{run.rps:5.0f} req/s   (round {r + 1}, {n} instance(s), concurrency "
                f"{args.concurrency}, errors {run.errors}; chat.update per post "
                f"{min(run.updates_per_post, default=0)}-{max(run.updates_per_post, default=0)}"
                f", shortest gap {gap})"
            )
    for n, runs in rounds.items():
        if len(runs) > 1:
            print(
                f"  answer click HTTP  p50 {statistics.median(r.p50 for r in runs):7.2f} ms"
                f"   p99 {statistics.median(r.p99 for r in runs):7.2f} ms"
                f"   {statistics.median(r.rps for r in runs):5.0f} req/s   ({n} instance(s), "
                f"median of {len(runs)} rounds)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--rounds", type=int, default=3, help="answer-click runs, each on a fresh server"
    )
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="which to run, comma-separated"
    )
    parser.add_argument(
        "--instances",
        default="1,2",
        help="`virtsec serve` instances on one database for the click runs, comma-separated",
    )
    args = parser.parse_args()
    print(
        f"{args.users:,} people x {args.days} daily questions in one channel; {os.cpu_count()} CPUs"
    )
    if "sqlite" in args.databases:
        with tempfile.TemporaryDirectory(prefix="virtsec-bench-") as folder:
            sqlite_url = f"sqlite:///{folder}/scores.db"
            engine = make_engine(sqlite_url, timeout=600)
            run("SQLite (WAL)", sqlite_url, engine, args)
            engine.dispose()
    if "postgresql" not in args.databases:
        return
    pg = postgres_url()
    if not pg:
        print("\nPostgreSQL: skipped (set VIRTSEC_BENCH_POSTGRES_URL)")
        return
    with postgres_schema(pg) as (url, engine):
        run("PostgreSQL", url, engine, args)


if __name__ == "__main__":
    main()
