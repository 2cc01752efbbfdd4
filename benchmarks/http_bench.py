"""HTTP-mode throughput and latency: `virtsec serve` vs a bare Bolt app that only acks.

Both run under gunicorn with the same settings (gthread, VIRTSEC_WEB_WORKERS x
VIRTSEC_WEB_THREADS, preloaded), with Slack's Web API faked on loopback. A
separate load process sends correctly signed `/virtsec <query>` requests at a
fixed concurrency over keep-alive connections, and this script prints p50/p99
latency, requests/s, the ratio between the two servers, and the servers'
memory (RSS summed over master and workers, and PSS, which counts shared pages
once).

Run: ``.venv/bin/python benchmarks/http_bench.py [--seconds 20] [--concurrency 20]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import queue as queue_module
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from slack_sdk.signature import SignatureVerifier

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import free_port, post_timed, wait_healthy  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402

SECRET = "bench-signing-secret"
BIN = Path(sys.executable).parent


def signed_bodies() -> list[tuple[bytes, dict[str, str]]]:
    queries = []
    for path in sorted((ROOT / "tests" / "data").glob("lookup_queries*.yaml")):
        queries += [q["q"] for q in yaml.safe_load(path.read_text())["queries"]]
    verifier = SignatureVerifier(SECRET)
    out = []
    ts = str(int(time.time()))
    for i, q in enumerate(queries):
        body = urllib.parse.urlencode(
            {
                "token": "x",
                "team_id": "T0TEST",
                "team_domain": "bench",
                "channel_id": "C1",
                "channel_name": "bench",
                "user_id": f"U{i % 50:04d}",
                "user_name": "bench",
                "command": "/virtsec",
                "text": q,
                "api_app_id": "A0",
                "response_url": "http://127.0.0.1:9/none",
                "trigger_id": "1",
            }
        )
        out.append(
            (
                body.encode(),
                {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Slack-Request-Timestamp": ts,
                    "X-Slack-Signature": verifier.generate_signature(timestamp=ts, body=body),
                },
            )
        )
    return out


def _worker(
    port: int,
    seconds: float,
    bodies: list[tuple[bytes, dict[str, str]]],
    offset: int,
    out: list[float],
    errors: list[int],
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    deadline = time.monotonic() + seconds
    i = offset
    while time.monotonic() < deadline:
        body, headers = bodies[i % len(bodies)]
        i += 1
        conn, ok, seconds = post_timed(conn, port, body, headers)
        if ok:
            out.append(seconds)
        else:
            errors.append(1)
    conn.close()


def load(port: int, seconds: float, concurrency: int, queue: Any) -> None:
    """Runs in its own process: `concurrency` threads with keep-alive connections."""
    bodies = signed_bodies()
    results: list[list[float]] = [[] for _ in range(concurrency)]
    errors: list[int] = []
    threads = [
        threading.Thread(target=_worker, args=(port, seconds, bodies, i * 7, results[i], errors))
        for i in range(concurrency)
    ]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    queue.put(([x for r in results for x in r], len(errors), elapsed))


def process_tree(pid: int) -> list[int]:
    pids = [pid]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                pids.append(int(entry))
    return pids


def memory_mb(pid: int) -> tuple[float, float]:
    rss = pss = 0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            pass
    return rss / 1024, pss / 1024


def run(
    label: str,
    cmd: list[str],
    env: dict[str, str],
    port: int,
    probe: str,
    seconds: float,
    concurrency: int,
) -> dict[str, float]:
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tempfile.mkdtemp()
    )
    try:
        wait_healthy(port, proc, probe)
        queue: Any = mp.get_context("spawn").Queue()
        warm = mp.get_context("spawn").Process(target=load, args=(port, 2, concurrency, queue))
        warm.start()
        queue.get()
        warm.join()
        loader = mp.get_context("spawn").Process(
            target=load, args=(port, seconds, concurrency, queue)
        )
        loader.start()
        peak = (0.0, 0.0)
        while True:  # read the result before joining: a child with queued data cannot exit
            rss, pss = memory_mb(proc.pid)
            peak = (max(peak[0], rss), max(peak[1], pss))
            try:
                latencies, errors, elapsed = queue.get(timeout=1)
                break
            except queue_module.Empty:
                if not loader.is_alive() and queue.empty():
                    raise SystemExit("the load process died") from None
        loader.join()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    latencies.sort()
    result = {
        "n": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(len(latencies) * 0.99)] * 1000,
        "mean": statistics.fmean(latencies) * 1000,
        "rss": peak[0],
        "pss": peak[1],
    }
    print(
        f"  {label:<22} {result['rps']:8.1f} req/s   p50 {result['p50']:7.2f} ms   "
        f"p99 {result['p99']:7.2f} ms   errors {errors}   memory RSS {peak[0]:6.1f} MB, "
        f"PSS {peak[1]:6.1f} MB"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    workers = os.environ.get("VIRTSEC_WEB_WORKERS", "2")
    threads = os.environ.get("VIRTSEC_WEB_THREADS", "4")
    with FakeSlack() as slack:
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.base_url,
            "SLACK_RESPONSE_URL_HOSTS": "127.0.0.1",
            "VIRTSEC_WEB_WORKERS": workers,
            "VIRTSEC_WEB_THREADS": threads,
            "PYTHONPATH": str(ROOT),
        }
        env.pop("SLACK_APP_TOKEN", None)
        print(
            f"gunicorn gthread, {workers} worker(s) x {threads} threads, preloaded; "
            f"concurrency {args.concurrency} for {args.seconds:.0f} s; "
            f"{os.cpu_count()} CPUs"
        )
        port = free_port()
        ours = run(
            "virtsec serve",
            [str(BIN / "virtsec"), "serve", "--host", "127.0.0.1"],
            {**env, "PORT": str(port), "DATABASE_URL": f"sqlite:///{tempfile.mkdtemp()}/bench.db"},
            port,
            "/healthz",
            args.seconds,
            args.concurrency,
        )
        port = free_port()
        bare = run(
            "bare Bolt (ack only)",
            [
                str(BIN / "gunicorn"),
                "-b",
                f"127.0.0.1:{port}",
                "-w",
                workers,
                "-k",
                "gthread",
                "--threads",
                threads,
                "--preload",
                "benchmarks.bare_app:application",
            ],
            env,
            port,
            "/slack/events",
            args.seconds,
            args.concurrency,
        )
    print(
        f"\n  throughput ratio virtsec / bare: {ours['rps'] / bare['rps']:.0%}   "
        f"p99 ratio: {ours['p99'] / bare['p99']:.2f}x"
    )
    print(json.dumps({"virtsec": ours, "bare": bare}, indent=None))


if __name__ == "__main__":
    main()
