"""The core (bot/) knows nothing of Slack: it never imports slack_bolt, slack_sdk or handlers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BANNED = ("slack_bolt", "slack_sdk", "handlers")


COMPOSITION_ROOT = ROOT / "bot" / "cli.py"


def imported_modules(path: Path, *, module_level_only: bool = False) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    nodes = ast.iter_child_nodes(tree) if module_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "__import__"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.append((node.lineno, str(node.args[0].value)))
    return found


CORE_FILES = sorted((ROOT / "bot").rglob("*.py"))


def test_core_files_exist() -> None:
    assert len(CORE_FILES) >= 4


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_core_module_does_not_import_slack(path: Path) -> None:
    # only the composition root (bot/cli.py) may reach handlers/, and only inside a function
    lazy_ok = path == COMPOSITION_ROOT
    bad = [
        (line, name)
        for line, name in imported_modules(path, module_level_only=lazy_ok)
        if name.split(".")[0] in BANNED
    ]
    assert not bad, f"{path.relative_to(ROOT)} imports the Slack edge: {bad}"


def test_the_scanner_catches_a_banned_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom slack_sdk.web import WebClient\n")
    assert (2, "slack_sdk.web") in imported_modules(sample)


def test_the_composition_root_imports_the_edge_only_lazily(tmp_path: Path) -> None:
    sample = tmp_path / "cli.py"
    sample.write_text("import os\ndef serve():\n    from handlers import server\n")
    assert imported_modules(sample, module_level_only=True) == [(1, "os")]
    assert (3, "handlers") in imported_modules(sample)
