"""Read one knowledge file: YAML composed safely, every entry checked against the schema.

Each problem names the file, line and field it concerns, so a content author can fix a whole
file in one pass. Every node's tag is checked: a ``!!python/object`` tag is an error, never
executed. `bot.knowledge_base` merges what the files hold and checks references across them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

try:  # libyaml is an order of magnitude faster; fall back to pure Python
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
DIFFICULTIES = ("easy", "medium", "hard")

# Slack limits the texts end up in: a choice is a button label (75 chars), a
# section holds at most 3000; the tighter limits below leave room for markup.
TITLE_MAX = 150
SUMMARY_MAX = 400
LONG_TEXT_MAX = 2500
TIP_MAX = 600
CHOICE_MAX = 75
STEP_MAX = 1000
ALIAS_MAX = 150
SOURCE_MAX = 300

_SAFE_TAGS = {
    "tag:yaml.org,2002:" + t
    for t in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp")
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a knowledge file."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


# --------------------------------------------------------------------------
# Field specifications


@dataclass(frozen=True)
class Field:
    kind: str  # text | slug | texts | slugs | difficulty
    required: bool = True
    max_len: int | None = None
    min_items: int = 0
    max_items: int | None = None


SPECS: dict[str, dict[str, Field]] = {
    "concepts": {
        "id": Field("slug"),
        "title": Field("text", max_len=TITLE_MAX),
        "aliases": Field("texts", max_len=ALIAS_MAX, min_items=1),
        "summary": Field("text", max_len=SUMMARY_MAX),
        "details": Field("text", required=False, max_len=LONG_TEXT_MAX),
        "exam_tip": Field("text", required=False, max_len=TIP_MAX),
        "related": Field("slugs", required=False),
        "tags": Field("slugs", min_items=1),
        "compares": Field("slugs", required=False, min_items=2, max_items=2),
        "sources": Field("texts", max_len=SOURCE_MAX, min_items=1),
    },
    "questions": {
        "id": Field("slug"),
        "concepts": Field("slugs", min_items=1),
        "prompt": Field("text", max_len=LONG_TEXT_MAX),
        "choices": Field("texts", max_len=CHOICE_MAX, min_items=2, max_items=5),
        "answer": Field("text", max_len=CHOICE_MAX),
        "explanation": Field("text", max_len=LONG_TEXT_MAX),
        "difficulty": Field("difficulty"),
        "sources": Field("texts", max_len=SOURCE_MAX, min_items=1),
    },
    "tips": {
        "id": Field("slug"),
        "text": Field("text", max_len=TIP_MAX),
        "concepts": Field("slugs", min_items=1),
        "sources": Field("texts", max_len=SOURCE_MAX, min_items=1),
    },
    "scenarios": {
        "id": Field("slug"),
        "title": Field("text", max_len=TITLE_MAX),
        "situation": Field("text", max_len=LONG_TEXT_MAX),
        "walkthrough": Field("texts", max_len=STEP_MAX, min_items=1),
        "concepts": Field("slugs", min_items=1),
        "sources": Field("texts", max_len=SOURCE_MAX, min_items=1),
    },
}
SINGULAR = {"concepts": "concept", "questions": "question", "tips": "tip", "scenarios": "scenario"}


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    tag = str(node.tag).rsplit(":", 1)[-1]
    return {
        "str": "a string",
        "int": "a number",
        "float": "a number",
        "bool": "a boolean",
        "null": "empty",
        "timestamp": "a date",
    }.get(tag, f"a {tag}")


def _is_str(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str"


class FileReader:
    """Turns one file's YAML nodes into raw entries, collecting problems."""

    def __init__(self, path: str):
        self.path = path
        self.problems: list[Problem] = []
        # kind -> list of (entry mapping values, entry node)
        self.entries: dict[str, list[tuple[dict[str, Any], dict[str, int], yaml.Node]]] = {
            k: [] for k in SPECS
        }

    def problem(self, line: int, fld: str, message: str) -> None:
        self.problems.append(Problem(self.path, line, fld, message))

    # -- reading

    def read(self, data: bytes) -> None:
        if not data.strip():
            self.problem(1, "(file)", "the file is empty; it must hold at least one entry")
            return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            self.problem(
                line,
                "(file)",
                f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8",
            )
            return
        if text.startswith("\ufeff"):
            text = text[1:]
        try:
            root = yaml.compose(text, Loader=_Loader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = int(mark.line) + 1 if mark is not None else 1
            context = str(exc.context or "")
            if exc.context_mark is not None and exc.context_mark.line + 1 != line:
                context += f" (started on line {exc.context_mark.line + 1})"
            what = "; ".join(p for p in (context.strip(), str(exc.problem or "")) if p)
            self.problem(line, "(yaml)", f"YAML syntax error: {what}")
            return
        except yaml.YAMLError as exc:
            self.problem(1, "(yaml)", f"YAML error: {exc}")
            return
        if root is None:
            self.problem(1, "(file)", "the file holds no YAML document")
            return
        if not self._tags_safe(root):
            return
        self._read_root(root)

    def _tags_safe(self, root: yaml.Node) -> bool:
        ok = True
        stack = [root]
        seen: set[int] = set()
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if node.tag not in _SAFE_TAGS:
                ok = False
                self.problem(
                    _line(node),
                    "(yaml)",
                    f"tag {node.tag!s} is not allowed; knowledge files hold plain data",
                )
            if isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
            elif isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    stack.extend((k, v))
        return ok

    def _mapping(self, node: yaml.MappingNode, context: str) -> dict[str, tuple[yaml.Node, int]]:
        """Keys of a mapping with their value nodes; duplicate keys are problems."""
        out: dict[str, tuple[yaml.Node, int]] = {}
        for key_node, value_node in node.value:
            if not _is_str(key_node):
                self.problem(
                    _line(key_node),
                    "(key)",
                    f"{context}: keys must be names, not {_describe(key_node)}",
                )
                continue
            key = str(key_node.value)
            if key in out:
                self.problem(
                    _line(key_node),
                    key,
                    f"{context}: key {key!r} appears twice (first on line {out[key][1]})",
                )
                continue
            out[key] = (value_node, _line(key_node))
        return out

    def _read_root(self, root: yaml.Node) -> None:
        if not isinstance(root, yaml.MappingNode):
            self.problem(
                _line(root),
                "(file)",
                "the top level must be a mapping with "
                f"keys {', '.join(SPECS)}; found {_describe(root)}",
            )
            return
        total = 0
        for key, (value, line) in self._mapping(root, "top level").items():
            if key not in SPECS:
                hint = closest(key, SPECS)
                self.problem(
                    line, key, f"unknown top-level key{hint}; expected one of {', '.join(SPECS)}"
                )
                continue
            if isinstance(value, yaml.ScalarNode) and value.tag.endswith(":null"):
                continue
            if not isinstance(value, yaml.SequenceNode):
                self.problem(
                    _line(value), key, f"must be a list of {key}, found {_describe(value)}"
                )
                continue
            for item in value.value:
                total += 1
                self._read_entry(key, item)
        if total == 0 and not self.problems:
            self.problem(_line(root), "(file)", "the file holds no entries")

    def _read_entry(self, kind: str, node: yaml.Node) -> None:
        what = SINGULAR[kind]
        if not isinstance(node, yaml.MappingNode):
            self.problem(
                _line(node),
                kind,
                f"each {what} must be a mapping of fields, found {_describe(node)}",
            )
            return
        spec = SPECS[kind]
        fields = self._mapping(node, what)
        id_node = fields.get("id")
        label = what
        if id_node is not None and _is_str(id_node[0]):
            label = f"{what} {id_node[0].value!r}"
        values: dict[str, Any] = {}
        lines: dict[str, int] = {"(entry)": _line(node)}
        for key, (value_node, line) in fields.items():
            lines[key] = line
            if key not in spec:
                self.problem(
                    line,
                    key,
                    f"{label}: unknown field{closest(key, spec)}; allowed: {', '.join(spec)}",
                )
                continue
            parsed = self._value(label, key, spec[key], value_node)
            if parsed is not None:
                values[key] = parsed
        for key, fspec in spec.items():
            if fspec.required and key not in fields:
                self.problem(_line(node), key, f"{label}: required field is missing")
        self.entries[kind].append((values, lines, node))

    def _value(self, label: str, key: str, spec: Field, node: yaml.Node) -> Any:
        line = _line(node)
        if spec.kind in ("text", "slug", "difficulty"):
            return self._scalar_text(label, key, spec, node)
        if not isinstance(node, yaml.SequenceNode):
            self.problem(line, key, f"{label}: must be a list, found {_describe(node)}")
            return None
        items: list[str] = []
        item_spec = Field("slug" if spec.kind == "slugs" else "text", max_len=spec.max_len)
        for item in node.value:
            text = self._scalar_text(label, key, item_spec, item)
            if text is not None:
                items.append(text)
        count = len(node.value)
        if count < spec.min_items:
            need = (
                "at least one item" if spec.min_items == 1 else f"at least {spec.min_items} items"
            )
            self.problem(line, key, f"{label}: needs {need}, has {count}")
        if spec.max_items is not None and count > spec.max_items:
            self.problem(line, key, f"{label}: at most {spec.max_items} items, has {count}")
        seen: dict[str, int] = {}
        for item_node, text in zip(node.value, items, strict=False):
            norm = " ".join(text.lower().split())
            if norm in seen:
                self.problem(_line(item_node), key, f"{label}: {text!r} is listed twice")
            seen[norm] = 1
        return tuple(items)

    def _scalar_text(self, label: str, key: str, spec: Field, node: yaml.Node) -> str | None:
        line = _line(node)
        if not isinstance(node, yaml.ScalarNode) or node.tag.endswith((":null", ":seq", ":map")):
            self.problem(line, key, f"{label}: must be text, found {_describe(node)}")
            return None
        if not _is_str(node):
            # numbers or booleans where text is expected: likely a YAML surprise
            # (e.g. `answer: yes` is a boolean). Ask for quotes.
            self.problem(
                line,
                key,
                f"{label}: must be text, found {_describe(node)} "
                f"({node.value!s}); put it in quotes",
            )
            return None
        text = str(node.value).strip()
        if not text:
            self.problem(line, key, f"{label}: must not be empty")
            return None
        if spec.kind == "slug" and not SLUG_RE.match(text):
            self.problem(
                line,
                key,
                f"{label}: {text!r} is not a kebab-case id "
                "(lowercase letters, digits and single hyphens)",
            )
            return None
        if spec.kind == "difficulty" and text not in DIFFICULTIES:
            self.problem(line, key, f"{label}: {text!r} must be one of {', '.join(DIFFICULTIES)}")
            return None
        if spec.max_len is not None and len(text) > spec.max_len:
            self.problem(line, key, f"{label}: {len(text)} characters; the limit is {spec.max_len}")
            return None
        if any(ord(c) < 32 and c not in "\n\t" for c in text):
            self.problem(line, key, f"{label}: contains control characters")
            return None
        return text


def closest(word: str, options: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""
