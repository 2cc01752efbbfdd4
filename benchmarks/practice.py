"""Practice at scale: `/virtsec quiz` picks with 10,000 people's review state, and the Home
tab built for a person with two years of history.

For SQLite and for PostgreSQL (VIRTSEC_BENCH_POSTGRES_URL or VIRTSEC_TEST_POSTGRES_URL)
it loads 10,000 people x every practice question as FSRS cards, plus one person with
730 daily answers and a year of practice, then prints p50/p99 of
- the quiz pick (`PracticeService.next_question`) for random people;
- building that person's Home tab (`Assistant.dashboard` + Block Kit rendering, without
  the Slack call).

Run: ``.venv/bin/python benchmarks/practice.py [--users 10000]``
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, text  # noqa: E402

from benchmarks.common import bulk_insert, pct, postgres_schema, postgres_url  # noqa: E402
from bot import knowledge_base  # noqa: E402
from bot.core import Core  # noqa: E402
from bot.library import Library  # noqa: E402
from bot.results import Caller  # noqa: E402
from bot.storage.db import make_engine, session_factory  # noqa: E402
from bot.storage.migrate import upgrade  # noqa: E402
from handlers.blocks.home import render_home  # noqa: E402
from tests.fakes.recording_channel import RecordingChannel  # noqa: E402

TEAM, CHANNEL, VETERAN = "T0TEST", "CPRACTICE", "UVETERAN"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def load(engine: Engine, users: int) -> None:
    """FSRS cards for everyone, and two years of history for one person."""
    rng = random.Random(9)
    kb = knowledge_base.load()
    qids = sorted(kb.questions)
    columns = (
        "team_id",
        "user_id",
        "question_id",
        "state",
        "step",
        "stability",
        "difficulty",
        "due",
        "last_review",
        "first_seen",
        "reviews",
        "lapses",
    )

    def cards() -> Any:
        for u in [*range(users), -1]:
            user = VETERAN if u < 0 else f"U{u:05d}"
            for q in qids:
                reviewed = NOW - timedelta(days=rng.randint(1, 60))
                stability = rng.uniform(0.5, 90)
                due = reviewed + timedelta(days=stability)
                yield (
                    TEAM,
                    user,
                    q,
                    2,
                    None,
                    stability,
                    rng.uniform(1, 10),
                    due,
                    reviewed,
                    reviewed - timedelta(days=30),
                    rng.randint(1, 12),
                    rng.randint(0, 3),
                )

    bulk_insert(engine, "review_states", columns, cards())
    first = (NOW - timedelta(days=730)).date()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO subscriptions (team_id, channel_id, post_time, timezone, days, "
                "close_time, enabled, created_by, created_at, updated_at) VALUES (:t, :c, '09:00', "
                "'UTC', 'everyday', NULL, :e, 'U0', :n, :n)"
            ),
            {"t": TEAM, "c": CHANNEL, "n": NOW, "e": True},
        )
        posts, answers = [], []
        for d in range(730):
            day = first + timedelta(days=d)
            q = qids[d % len(qids)]
            posts.append(
                {
                    "id": d + 1,
                    "t": TEAM,
                    "c": CHANNEL,
                    "slot": day.isoformat(),
                    "day": day,
                    "q": q,
                    "n": NOW,
                    "prev": d or None,
                }
            )
            answers.append(
                {
                    "t": TEAM,
                    "c": CHANNEL,
                    "u": VETERAN,
                    "p": d + 1,
                    "q": q,
                    "k": rng.random() < 0.75,
                    "day": day,
                    "n": NOW,
                }
            )
        conn.execute(
            text(
                "INSERT INTO daily_posts (id, team_id, channel_id, slot, local_date, question_id, "
                "status, claim_token, claimed_at, message_ts, posted_at, closed_at, "
                "previous_post_id, shown_count) VALUES (:id, :t, :c, :slot, :day, :q,"
                " 'closed', 'x', :n, '1.1', :n, :n, :prev, 1)"
            ),
            posts,
        )
        conn.execute(
            text(
                "INSERT INTO answers (team_id, channel_id, user_id, kind, post_id, question_id, "
                "choice, correct, local_date, answered_at) VALUES (:t, :c, :u, 'daily', :p, :q, 0,"
                " :k, :day, :n)"
            ),
            answers,
        )
        conn.execute(
            text(
                "INSERT INTO answers (team_id, channel_id, user_id, kind, post_id, question_id, "
                "choice, correct, local_date, answered_at) VALUES (:t, :c, :u, 'practice', NULL, "
                ":q, 0, :k, :day, :n)"
            ),
            [{**a, "q": qids[i % len(qids)]} for i, a in enumerate(answers[-365:])],
        )
        right = sum(1 for a in answers if a["k"])
        conn.execute(
            text(
                "INSERT INTO scores (team_id, channel_id, user_id, points, answered, correct, "
                "current_streak, best_streak, streak_post_id) VALUES (:t, :c, :u, :p, 730, :p, 3,"
                " 14, 730)"
            ),
            {"t": TEAM, "c": CHANNEL, "u": VETERAN, "p": right},
        )
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval('daily_posts_id_seq', 730)"))
        conn.execute(text("ANALYZE"))


def measure(engine: Engine, users: int, runs: int = 300) -> None:
    core = Core(
        Library(knowledge_base.load), session_factory(engine), RecordingChannel(), clock=lambda: NOW
    )
    rng = random.Random(4)
    picks, homes = [], []
    for i in range(runs + 10):
        caller = Caller(TEAM, f"U{rng.randrange(users):05d}", CHANNEL)
        t0 = time.perf_counter()
        core.practice.next_question(caller)
        if i >= 10:
            picks.append((time.perf_counter() - t0) * 1000)
    for i in range(runs + 10):
        t0 = time.perf_counter()
        blocks = render_home(core.progress.dashboard(TEAM, VETERAN))
        if i >= 10:
            homes.append((time.perf_counter() - t0) * 1000)
    print(
        f"  quiz pick (10k people's cards)   p50 {pct(picks, 50):6.2f} ms   "
        f"p99 {pct(picks, 99):6.2f} ms"
    )
    print(
        f"  Home tab, 2 years of history     p50 {pct(homes, 50):6.2f} ms   "
        f"p99 {pct(homes, 99):6.2f} ms   ({len(blocks)} blocks)"
    )


def run(label: str, engine: Engine, users: int) -> None:
    print(f"\n{label}")
    t0 = time.perf_counter()
    upgrade(engine)
    load(engine, users)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM review_states")).scalar_one()
    print(f"  loaded {n:,} FSRS cards in {time.perf_counter() - t0:.0f} s")
    measure(engine, users)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    args = parser.parse_args()
    print(
        f"{args.users:,} people x {len(knowledge_base.load().questions)} practice questions; "
        f"{os.cpu_count()} CPUs"
    )
    engine = make_engine(f"sqlite:///{tempfile.mkdtemp(prefix='virtsec-bench-')}/p.db", timeout=600)
    run("SQLite (WAL)", engine, args.users)
    engine.dispose()
    pg = postgres_url()
    if not pg:
        print("\nPostgreSQL: skipped (set VIRTSEC_BENCH_POSTGRES_URL)")
        return
    with postgres_schema(pg) as (_url, engine):
        run("PostgreSQL", engine, args.users)


if __name__ == "__main__":
    main()
