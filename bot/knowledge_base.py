"""Load, validate and merge the YAML knowledge base.

Every problem is reported, each with the file, line and field it concerns, so
a content author can fix a whole file in one pass. YAML is composed with the
safe loader and every node's tag is checked: a ``!!python/object`` tag is an
error, never executed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
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


class KnowledgeError(Exception):
    """Raised when a knowledge base has problems; carries all of them."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the knowledge base:\n{lines}")


@dataclass(frozen=True)
class Origin:
    """Where an entry was defined."""

    file: str
    line: int


@dataclass(frozen=True)
class Concept:
    """A concept people can look up."""

    id: str
    title: str
    aliases: tuple[str, ...]
    summary: str
    tags: tuple[str, ...]
    sources: tuple[str, ...]
    details: str = ""
    exam_tip: str = ""
    related: tuple[str, ...] = ()
    compares: tuple[str, ...] = ()
    origin: Origin = field(default=Origin("", 0), compare=False)


@dataclass(frozen=True)
class Question:
    """A multiple-choice practice question."""

    id: str
    concepts: tuple[str, ...]
    prompt: str
    choices: tuple[str, ...]
    answer: str
    explanation: str
    difficulty: str
    sources: tuple[str, ...]
    origin: Origin = field(default=Origin("", 0), compare=False)

    @property
    def answer_index(self) -> int:
        """Position of the correct choice (0-based)."""
        return self.choices.index(self.answer)


@dataclass(frozen=True)
class Tip:
    """An exam tip."""

    id: str
    text: str
    concepts: tuple[str, ...]
    sources: tuple[str, ...]
    origin: Origin = field(default=Origin("", 0), compare=False)


@dataclass(frozen=True)
class Scenario:
    """A worked case applying several concepts."""

    id: str
    title: str
    situation: str
    walkthrough: tuple[str, ...]
    concepts: tuple[str, ...]
    sources: tuple[str, ...]
    origin: Origin = field(default=Origin("", 0), compare=False)


@dataclass(frozen=True)
class KnowledgeBase:
    """The merged, validated knowledge base."""

    concepts: dict[str, Concept]
    questions: dict[str, Question]
    tips: dict[str, Tip]
    scenarios: dict[str, Scenario]
    files: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        """Number of entries of each kind."""
        return {
            "concepts": len(self.concepts),
            "questions": len(self.questions),
            "tips": len(self.tips),
            "scenarios": len(self.scenarios),
        }

    def tags(self) -> dict[str, list[str]]:
        """Concept ids by tag, tags sorted."""
        by_tag: dict[str, list[str]] = {}
        for concept in self.concepts.values():
            for tag in concept.tags:
                by_tag.setdefault(tag, []).append(concept.id)
        return dict(sorted(by_tag.items()))

    def questions_for(self, concept_id: str) -> list[Question]:
        """Questions that test a concept."""
        return [q for q in self.questions.values() if concept_id in q.concepts]


# --------------------------------------------------------------------------
# Field specifications


@dataclass(frozen=True)
class _Field:
    kind: str  # text | slug | texts | slugs | difficulty
    required: bool = True
    max_len: int | None = None
    min_items: int = 0
    max_items: int | None = None


_SPECS: dict[str, dict[str, _Field]] = {
    "concepts": {
        "id": _Field("slug"),
        "title": _Field("text", max_len=TITLE_MAX),
        "aliases": _Field("texts", max_len=ALIAS_MAX, min_items=1),
        "summary": _Field("text", max_len=SUMMARY_MAX),
        "details": _Field("text", required=False, max_len=LONG_TEXT_MAX),
        "exam_tip": _Field("text", required=False, max_len=TIP_MAX),
        "related": _Field("slugs", required=False),
        "tags": _Field("slugs", min_items=1),
        "compares": _Field("slugs", required=False, min_items=2, max_items=2),
        "sources": _Field("texts", max_len=SOURCE_MAX, min_items=1),
    },
    "questions": {
        "id": _Field("slug"),
        "concepts": _Field("slugs", min_items=1),
        "prompt": _Field("text", max_len=LONG_TEXT_MAX),
        "choices": _Field("texts", max_len=CHOICE_MAX, min_items=2, max_items=5),
        "answer": _Field("text", max_len=CHOICE_MAX),
        "explanation": _Field("text", max_len=LONG_TEXT_MAX),
        "difficulty": _Field("difficulty"),
        "sources": _Field("texts", max_len=SOURCE_MAX, min_items=1),
    },
    "tips": {
        "id": _Field("slug"),
        "text": _Field("text", max_len=TIP_MAX),
        "concepts": _Field("slugs", min_items=1),
        "sources": _Field("texts", max_len=SOURCE_MAX, min_items=1),
    },
    "scenarios": {
        "id": _Field("slug"),
        "title": _Field("text", max_len=TITLE_MAX),
        "situation": _Field("text", max_len=LONG_TEXT_MAX),
        "walkthrough": _Field("texts", max_len=STEP_MAX, min_items=1),
        "concepts": _Field("slugs", min_items=1),
        "sources": _Field("texts", max_len=SOURCE_MAX, min_items=1),
    },
}
_SINGULAR = {"concepts": "concept", "questions": "question", "tips": "tip", "scenarios": "scenario"}


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


class _FileReader:
    """Turns one file's YAML nodes into raw entries, collecting problems."""

    def __init__(self, path: str):
        self.path = path
        self.problems: list[Problem] = []
        # kind -> list of (entry mapping values, entry node)
        self.entries: dict[str, list[tuple[dict[str, Any], dict[str, int], yaml.Node]]] = {
            k: [] for k in _SPECS
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
                f"keys {', '.join(_SPECS)}; found {_describe(root)}",
            )
            return
        total = 0
        for key, (value, line) in self._mapping(root, "top level").items():
            if key not in _SPECS:
                hint = _closest(key, _SPECS)
                self.problem(
                    line, key, f"unknown top-level key{hint}; expected one of {', '.join(_SPECS)}"
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
        what = _SINGULAR[kind]
        if not isinstance(node, yaml.MappingNode):
            self.problem(
                _line(node),
                kind,
                f"each {what} must be a mapping of fields, found {_describe(node)}",
            )
            return
        spec = _SPECS[kind]
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
                    f"{label}: unknown field{_closest(key, spec)}; allowed: {', '.join(spec)}",
                )
                continue
            parsed = self._value(label, key, spec[key], value_node)
            if parsed is not None:
                values[key] = parsed
        for key, fspec in spec.items():
            if fspec.required and key not in fields:
                self.problem(_line(node), key, f"{label}: required field is missing")
        self.entries[kind].append((values, lines, node))

    def _value(self, label: str, key: str, spec: _Field, node: yaml.Node) -> Any:
        line = _line(node)
        if spec.kind in ("text", "slug", "difficulty"):
            return self._scalar_text(label, key, spec, node)
        if not isinstance(node, yaml.SequenceNode):
            self.problem(line, key, f"{label}: must be a list, found {_describe(node)}")
            return None
        items: list[str] = []
        item_spec = _Field("slug" if spec.kind == "slugs" else "text", max_len=spec.max_len)
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

    def _scalar_text(self, label: str, key: str, spec: _Field, node: yaml.Node) -> str | None:
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


def _closest(word: str, options: Iterable[str]) -> str:
    import difflib

    match = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


# --------------------------------------------------------------------------
# Building and cross-checking


def _norm_alias(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


def _build(readers: Sequence[_FileReader]) -> tuple[KnowledgeBase, list[Problem]]:
    problems: list[Problem] = [p for r in readers for p in r.problems]
    concepts: dict[str, Concept] = {}
    questions: dict[str, Question] = {}
    tips: dict[str, Tip] = {}
    scenarios: dict[str, Scenario] = {}
    where: dict[str, Origin] = {}
    kinds: dict[str, str] = {}
    refs: list[tuple[str, int, str, str, tuple[str, ...]]] = []  # file, line, field, label, ids
    aliases: dict[str, tuple[str, Origin]] = {}

    def add_problem(file: str, line: int, fld: str, msg: str) -> None:
        problems.append(Problem(file, line, fld, msg))

    for reader in readers:
        for kind, items in reader.entries.items():
            what = _SINGULAR[kind]
            for values, lines, _node in items:
                entry_id = values.get("id")
                if entry_id is None:
                    continue
                origin = Origin(reader.path, lines.get("id", lines["(entry)"]))
                label = f"{what} {entry_id!r}"
                if entry_id in where:
                    first = where[entry_id]
                    add_problem(
                        reader.path,
                        origin.line,
                        "id",
                        f"duplicate id {entry_id!r}: already defined at {first.file}:{first.line}",
                    )
                    continue
                where[entry_id] = origin
                kinds[entry_id] = kind
                complete = all(k in values for k, f in _SPECS[kind].items() if f.required)
                for fld in ("related", "concepts", "compares"):
                    if fld in values:
                        refs.append((reader.path, lines[fld], fld, label, values[fld]))
                if kind == "concepts":
                    for name in (values.get("title", ""), *values.get("aliases", ())):
                        norm = _norm_alias(name)
                        if not norm:
                            continue
                        other = aliases.get(norm)
                        if other and other[0] != entry_id:
                            fld = "title" if name == values.get("title") else "aliases"
                            add_problem(
                                reader.path,
                                lines.get(fld, origin.line),
                                fld,
                                f"{label}: {name!r} also names concept {other[0]!r} "
                                f"({other[1].file}:{other[1].line}); a name must "
                                "find one concept",
                            )
                        elif not other:
                            aliases[norm] = (entry_id, origin)
                if (
                    kind == "questions"
                    and "choices" in values
                    and "answer" in values
                    and values["answer"] not in values["choices"]
                ):
                    add_problem(
                        reader.path,
                        lines["answer"],
                        "answer",
                        f"{label}: {values['answer']!r} is not one of the choices",
                    )
                    complete = False
                if not complete:
                    continue
                if kind == "concepts":
                    concepts[entry_id] = Concept(origin=origin, **values)
                elif kind == "questions":
                    questions[entry_id] = Question(origin=origin, **values)
                elif kind == "tips":
                    tips[entry_id] = Tip(origin=origin, **values)
                else:
                    scenarios[entry_id] = Scenario(origin=origin, **values)

    concept_ids = {i for i, k in kinds.items() if k == "concepts"}
    for file, line, fld, label, ids in refs:
        for ref in ids:
            if ref not in concept_ids:
                hint = _closest(ref, concept_ids)
                kind = "a concept" if ref not in where else "a concept (it is another kind)"
                add_problem(file, line, fld, f"{label}: {ref!r} is not {kind}{hint}")
    files = tuple(r.path for r in readers)
    return KnowledgeBase(concepts, questions, tips, scenarios, files), problems


# --------------------------------------------------------------------------
# Public API


def bundled_knowledge_dir() -> Path:
    """The knowledge folder shipped with virtsec (repo checkout or installed wheel)."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "knowledge", here / "bundled_knowledge"):
        if candidate.is_dir():
            return candidate
    return here.parent / "knowledge"


def default_knowledge_paths() -> list[Path]:
    """`VIRTSEC_KNOWLEDGE` (a file or folder, os.pathsep-separated) or the bundled folder."""
    env = os.environ.get("VIRTSEC_KNOWLEDGE", "").strip()
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [bundled_knowledge_dir()]


def expand_paths(paths: Iterable[Path | str]) -> tuple[list[Path], list[Problem]]:
    """Files to load: folders expand to their *.yaml/*.yml files, sorted."""
    files: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()
            )
            if not found:
                problems.append(Problem(str(path), 0, "(folder)", "no *.yaml files in this folder"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            problems.append(Problem(str(path), 0, "(file)", "no such file or folder"))
    return files, problems


def check(paths: Iterable[Path | str]) -> tuple[KnowledgeBase, list[Problem]]:
    """Load and validate; return what loaded and every problem found."""
    files, problems = expand_paths(paths)
    readers = []
    for path in files:
        reader = _FileReader(_display(path))
        try:
            reader.read(path.read_bytes())
        except OSError as exc:
            reader.problem(0, "(file)", f"cannot read: {exc.strerror}")
        readers.append(reader)
    kb, more = _build(readers)
    order = {r.path: i for i, r in enumerate(readers)}
    more.sort(key=lambda p: (order.get(p.file, -1), p.line))
    return kb, problems + more


def load(paths: Iterable[Path | str] | None = None) -> KnowledgeBase:
    """Load a valid knowledge base or raise KnowledgeError naming every problem."""
    kb, problems = check(paths if paths is not None else default_knowledge_paths())
    if problems:
        raise KnowledgeError(problems)
    return kb


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
