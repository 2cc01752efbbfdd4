"""The `virtsec` command line."""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from bot import knowledge_base
from bot.config import ConfigError, Mode, Settings, read_settings, redact_url
from bot.console import ConsoleChannel, run_console
from bot.console_text import render_answer
from bot.core import Core
from bot.knowledge_base import LETTERS, KnowledgeBase, KnowledgeError
from bot.knowledge_yaml import DIFFICULTIES
from bot.library import Library
from bot.lookup import LookupResult, Match
from bot.storage.db import make_engine, session_factory
from bot.storage.migrate import current_tables, upgrade
from bot.storage.teams import TeamData
from bot.study import Study


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="virtsec",
        description="Study assistant for virtualization security.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    ask = sub.add_parser("ask", help="look up a concept")
    ask.add_argument("--json", action="store_true", help="print JSON (JSON Lines with '-')")
    ask.add_argument("query", nargs="+", help="the question; '-' reads one query per line")
    sub.add_parser("console", help="chat with the bot in the terminal, no Slack needed")
    sub.add_parser("tick", help="post/close whatever daily questions are due now, once")
    scheduler = sub.add_parser("scheduler", help="run `tick` every minute (a long-running process)")
    scheduler.add_argument(
        "--every",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help="tick every SECONDS instead of at the start of every minute (1-3600)",
    )
    serve = sub.add_parser("serve", help="run the Slack app (HTTP mode; --socket for Socket Mode)")
    serve.add_argument("--socket", action="store_true", help="use Socket Mode")
    serve.add_argument("--host", default="0.0.0.0", help="HTTP bind address")
    db = sub.add_parser("db", help="database tools")
    db_sub = db.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)
    db_sub.add_parser("upgrade", help="apply database migrations (DATABASE_URL)")
    team = sub.add_parser("team", help="one workspace's data")
    team_sub = team.add_subparsers(dest="team_command", metavar="TEAM_COMMAND", required=True)
    purge = team_sub.add_parser(
        "purge", help="delete everything stored for a workspace (asks for --yes)"
    )
    purge.add_argument("team_id", help="the Slack team id, e.g. T012ABCDEF")
    purge.add_argument("--yes", action="store_true", help="really delete; without it: a dry run")
    kb = sub.add_parser("kb", help="knowledge base tools")
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND", required=True)
    lint = kb_sub.add_parser("lint", help="validate knowledge files (default: the bundled ones)")
    lint.add_argument("paths", nargs="*", type=Path)
    stats = kb_sub.add_parser("stats", help="counts by kind, tag and difficulty")
    stats.add_argument("paths", nargs="*", type=Path)
    return parser


def _load(paths: Sequence[Path] | None, err: TextIO) -> KnowledgeBase | None:
    try:
        return knowledge_base.load(paths or None)
    except KnowledgeError as exc:
        err.write("virtsec: the knowledge base is invalid; fix these and retry:\n")
        for problem in exc.problems:
            err.write(f"  {problem}\n")
        return None


def _match_json(match: Match) -> dict[str, Any]:
    return {"id": match.concept.id, "title": match.concept.title, "score": match.score}


def result_json(result: LookupResult) -> dict[str, Any]:
    """The `ask --json` object for one lookup."""
    return {
        "query": result.query,
        "answer": _match_json(result.answer) if result.answer else None,
        "suggestions": [_match_json(m) for m in result.suggestions],
    }


def _ask(args: argparse.Namespace, library: Library, out: TextIO, stdin: TextIO) -> int:
    study = Study(library)
    queries: Iterable[str] = (
        (line.rstrip("\r\n") for line in stdin) if args.query == ["-"] else [" ".join(args.query)]
    )
    for query in queries:
        answer = study.lookup(query)
        if args.json:
            out.write(json.dumps(result_json(answer.lookup), ensure_ascii=False) + "\n")
        else:
            out.write(render_answer(answer) + ("\n\n" if args.query == ["-"] else "\n"))
    return 0


def _lint(paths: Sequence[Path | str], out: TextIO) -> int:
    kb, problems = knowledge_base.check(knowledge_base.knowledge_paths(paths))
    if problems:
        for problem in problems:
            out.write(f"{problem}\n")
        out.write(f"{len(problems)} problem(s) found.\n")
        return 1
    c = kb.counts()
    out.write(
        f"OK: {len(kb.files)} file(s), {c['concepts']} concepts, {c['questions']} "
        f"questions, {c['tips']} tips, {c['scenarios']} scenarios.\n"
    )
    return 0


def _stats(kb: KnowledgeBase, out: TextIO) -> int:
    c = kb.counts()
    out.write(
        f"{c['concepts']} concepts, {c['questions']} questions, {c['tips']} tips, "
        f"{c['scenarios']} scenarios in {len(kb.files)} file(s)\n"
    )
    out.write("\nConcepts by tag:\n")
    for tag, ids in kb.tags().items():
        out.write(f"  {tag:<18} {len(ids)}\n")
    by_difficulty: dict[str, int] = {}
    positions: dict[int, int] = {}
    for q in kb.questions.values():
        by_difficulty[q.difficulty] = by_difficulty.get(q.difficulty, 0) + 1
        positions[q.answer_index] = positions.get(q.answer_index, 0) + 1
    out.write(
        "\nQuestions by difficulty: "
        + ", ".join(f"{d} {by_difficulty.get(d, 0)}" for d in DIFFICULTIES)
        + "\n"
    )
    out.write(
        "Correct answer position: "
        + ", ".join(f"{LETTERS[i]} {n}" for i, n in sorted(positions.items()))
        + "\n"
    )
    untested = [
        cid for cid in kb.concepts if not kb.questions_for(cid) and not kb.concepts[cid].compares
    ]
    out.write(
        f"Concepts without a question: {len(untested)}"
        + (f" ({', '.join(sorted(untested))})" if untested else "")
        + "\n"
    )
    return 0


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the `virtsec` command; returns the exit status."""
    stdin = stdin or sys.stdin
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args = _parser().parse_args(argv)
    settings, problems = read_settings()
    mode = _mode(args, settings)
    if mode is not None:
        problems += settings.missing(mode)
    if problems:  # every problem at once, before anything is touched
        err.write(f"{ConfigError(problems)}\n")
        return 2
    if args.command == "kb" and args.kb_command == "lint":
        return _lint(args.paths or settings.knowledge, out)
    if args.command == "db":
        return _db_upgrade(settings, out)
    if args.command == "team":
        return _purge(settings, args.team_id, really=args.yes, out=out, err=err)
    paths = getattr(args, "paths", None) or [Path(p) for p in settings.knowledge] or None
    kb = _load(paths, err)
    if kb is None:
        return 2
    if args.command == "kb":
        return _stats(kb, out)
    library = Library(lambda: knowledge_base.load(paths), loaded=kb)
    if args.command == "ask":
        return _ask(args, library, out, stdin)
    if settings.database_url.startswith("sqlite"):
        _db_upgrade(settings, None)  # the default SQLite file migrates itself
    if args.command in ("tick", "scheduler"):
        every = float(getattr(args, "every", 60.0))
        return _schedule(
            settings, library, once=args.command == "tick", every=every, out=out, err=err
        )
    if mode in ("http", "socket"):
        host = getattr(args, "host", "0.0.0.0")  # `virtsec` alone serves on every address
        return _serve(settings, library, socket=mode == "socket", host=host, err=err)
    engine = make_engine(settings.database_url, timeout=settings.db_timeout)
    sessions = session_factory(engine)
    channel = ConsoleChannel(out)
    core = Core(library, sessions, channel)
    try:
        return run_console(core, channel, stdin, out, interactive=stdin.isatty())
    finally:
        core.wait_idle()
        engine.dispose()


def _mode(args: argparse.Namespace, settings: Settings) -> Mode | None:
    """What the command will run, for the settings it needs: a Slack mode, or None."""
    if args.command in ("tick", "scheduler"):
        return "tick"
    if args.command == "serve" or (args.command is None and settings.has_slack_tokens):
        return "socket" if getattr(args, "socket", False) or settings.socket_mode else "http"
    return None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 1 <= value <= 3600:
        raise argparse.ArgumentTypeError("give between 1 and 3600 seconds")
    return value


def _schedule(
    settings: Settings,
    library: Library,
    *,
    once: bool,
    every: float = 60.0,
    out: TextIO,
    err: TextIO,
) -> int:
    """`virtsec tick` / `virtsec scheduler`: daily questions posted through Slack."""
    from handlers import server  # the composition root may reach the Slack edge, lazily

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        if once:
            try:
                report = server.tick_once(settings, library)
            except Exception:  # the database or Slack is down: say so, exit non-zero
                logging.getLogger("virtsec.tick").exception("the tick failed")
                err.write("virtsec tick failed; see the log above. Nothing was marked done.\n")
                return 1
            out.write(
                f"posted {len(report.posted)}, closed {len(report.closed)}, "
                f"failed {len(report.failed)}\n"
            )
            return 1 if report.failed else 0
        server.run_scheduler(settings, library, every=every)
    except ConfigError as exc:
        err.write(f"{exc}\n")
        return 2
    return 0


MIGRATION_TIMEOUT = 600.0  # seconds: a migration may rewrite a large table


def _db_upgrade(settings: Settings, out: TextIO | None) -> int:
    """Apply migrations to DATABASE_URL."""
    engine = make_engine(settings.database_url, timeout=MIGRATION_TIMEOUT)
    try:
        before, after = upgrade(engine)
        tables = len(current_tables(engine))
    finally:
        engine.dispose()
    where = redact_url(settings.database_url)
    if out is None:
        pass
    elif before is None:
        out.write(f"Created the database schema at {where}: {tables} tables, revision {after}.\n")
    elif before != after:
        out.write(f"Upgraded the database at {where} from revision {before} to {after}.\n")
    else:
        out.write(f"The database at {where} is up to date (revision {after}).\n")
    return 0


def _purge(settings: Settings, team_id: str, *, really: bool, out: TextIO, err: TextIO) -> int:
    """`virtsec team purge TEAM_ID [--yes]`: a workspace's data, counted or deleted."""
    if not re.fullmatch(r"[TE][A-Z0-9]{2,31}", team_id):
        err.write(f"“{team_id[:40]}” is not a Slack team id (such as T012ABCDEF).\n")
        return 2
    engine = make_engine(settings.database_url, timeout=MIGRATION_TIMEOUT)
    try:
        if settings.database_url.startswith("sqlite"):
            upgrade(engine)
        with session_factory(engine).begin() as session:
            data = TeamData(session)
            rows = data.purge(team_id) if really else data.counts(team_id)
    finally:
        engine.dispose()
    listed = ", ".join(f"{table} {n}" for table, n in rows.items()) or "nothing"
    if really:
        out.write(f"Deleted everything stored for {team_id}: {listed}.\n")
        return 0
    out.write(
        f"Stored for {team_id}: {listed}. Nothing was deleted; add --yes to delete it for good.\n"
    )
    return 1 if rows else 0


def _serve(settings: Settings, library: Library, *, socket: bool, host: str, err: TextIO) -> int:
    """Run the Slack app over HTTP, or Socket Mode."""
    from handlers import server  # the composition root may reach the Slack edge, lazily

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        if socket:
            server.serve_socket(settings, library)
        else:
            server.serve_http(settings, library, host=host)
    except ConfigError as exc:
        err.write(f"{exc}\n")
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
