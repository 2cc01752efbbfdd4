"""The knowledge base: its entries, and loading every file into one validated whole.

`bot.knowledge_yaml` reads each file against the schema; here the files are merged, ids and
names must be unique across them and every reference must name a concept. Every problem is
reported with its file, line and field.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.knowledge_yaml import SINGULAR, SPECS, FileReader, Problem, closest

LETTERS = "ABCDE"  # choice labels: a question has at most five choices
MAX_FILE_BYTES = 2 * 2**20  # the bundled files are 50-85 KB each


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

    def label(self, index: int) -> str:
        """A choice as people see it: "B. Type 2 hypervisor"."""
        return f"{LETTERS[index]}. {self.choices[index]}"

    @property
    def answer_label(self) -> str:
        """The correct choice with its letter."""
        return self.label(self.answer_index)


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
    fingerprint: str = ""  # of the files' names and bytes: the same notes, the same print

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

    def concepts_of(self, ids: Iterable[str]) -> tuple[Concept, ...]:
        """The concepts named by ids that exist (a reload may have removed some)."""
        return tuple(self.concepts[i] for i in ids if i in self.concepts)

    def questions_for(self, concept_id: str) -> list[Question]:
        """Questions that test a concept."""
        return [q for q in self.questions.values() if concept_id in q.concepts]


# --------------------------------------------------------------------------
# Building and cross-checking


def _norm_alias(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


class _Merger:
    """Merges the files' entries; ids and names unique across files, references valid."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.concepts: dict[str, Concept] = {}
        self.questions: dict[str, Question] = {}
        self.tips: dict[str, Tip] = {}
        self.scenarios: dict[str, Scenario] = {}
        self.where: dict[str, Origin] = {}
        self.kinds: dict[str, str] = {}
        self.refs: list[tuple[str, int, str, str, tuple[str, ...]]] = []  # file, line, field,
        self.aliases: dict[str, tuple[str, Origin]] = {}  # label, ids; normalised name -> id

    def problem(self, file: str, line: int, fld: str, msg: str) -> None:
        """Record a problem."""
        self.problems.append(Problem(file, line, fld, msg))

    def add(self, path: str, kind: str, values: dict[str, Any], lines: dict[str, int]) -> None:
        """One entry of a file: checked against the others, kept when complete."""
        entry_id = values.get("id")
        if entry_id is None:
            return
        origin = Origin(path, lines.get("id", lines["(entry)"]))
        label = f"{SINGULAR[kind]} {entry_id!r}"
        if entry_id in self.where:
            first = self.where[entry_id]
            self.problem(
                path,
                origin.line,
                "id",
                f"duplicate id {entry_id!r}: already defined at {first.file}:{first.line}",
            )
            return
        self.where[entry_id] = origin
        self.kinds[entry_id] = kind
        complete = all(k in values for k, f in SPECS[kind].items() if f.required)
        for fld in ("related", "concepts", "compares"):
            if fld in values:
                self.refs.append((path, lines[fld], fld, label, values[fld]))
        if kind == "concepts":
            self._check_names(path, entry_id, label, values, lines, origin)
        if (
            kind == "questions"
            and "choices" in values
            and "answer" in values
            and values["answer"] not in values["choices"]
        ):
            self.problem(
                path,
                lines["answer"],
                "answer",
                f"{label}: {values['answer']!r} is not one of the choices",
            )
            complete = False
        if complete:
            self._keep(kind, entry_id, values, origin)

    def _check_names(
        self,
        path: str,
        entry_id: str,
        label: str,
        values: dict[str, Any],
        lines: dict[str, int],
        origin: Origin,
    ) -> None:
        for name in (values.get("title", ""), *values.get("aliases", ())):
            norm = _norm_alias(name)
            if not norm:
                continue
            other = self.aliases.get(norm)
            if other and other[0] != entry_id:
                fld = "title" if name == values.get("title") else "aliases"
                self.problem(
                    path,
                    lines.get(fld, origin.line),
                    fld,
                    f"{label}: {name!r} also names concept {other[0]!r} "
                    f"({other[1].file}:{other[1].line}); a name must find one concept",
                )
            elif not other:
                self.aliases[norm] = (entry_id, origin)

    def _keep(self, kind: str, entry_id: str, values: dict[str, Any], origin: Origin) -> None:
        if kind == "concepts":
            self.concepts[entry_id] = Concept(origin=origin, **values)
        elif kind == "questions":
            self.questions[entry_id] = Question(origin=origin, **values)
        elif kind == "tips":
            self.tips[entry_id] = Tip(origin=origin, **values)
        else:
            self.scenarios[entry_id] = Scenario(origin=origin, **values)

    def check_references(self) -> None:
        """Every related/concepts/compares id must name a concept."""
        concept_ids = {i for i, k in self.kinds.items() if k == "concepts"}
        for file, line, fld, label, ids in self.refs:
            for ref in ids:
                if ref not in concept_ids:
                    hint = closest(ref, concept_ids)
                    what = (
                        "a concept" if ref not in self.where else "a concept (it is another kind)"
                    )
                    self.problem(file, line, fld, f"{label}: {ref!r} is not {what}{hint}")


def _build(readers: Sequence[FileReader]) -> tuple[KnowledgeBase, list[Problem]]:
    merger = _Merger()
    for reader in readers:
        for kind, items in reader.entries.items():
            for values, lines, _node in items:
                merger.add(reader.path, kind, values, lines)
    merger.check_references()
    m = merger
    kb = KnowledgeBase(m.concepts, m.questions, m.tips, m.scenarios, tuple(r.path for r in readers))
    return kb, [p for r in readers for p in r.problems] + m.problems


# --------------------------------------------------------------------------
# Public API


def bundled_knowledge_dir() -> Path:
    """The knowledge folder shipped with virtsec (repo checkout or installed wheel)."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "knowledge", here / "bundled_knowledge"):
        if candidate.is_dir():
            return candidate
    return here.parent / "knowledge"


def knowledge_paths(configured: Iterable[str | Path] = ()) -> list[Path]:
    """The configured files or folders (`Settings.knowledge`), else the bundled folder."""
    return [Path(p) for p in configured] or [bundled_knowledge_dir()]


def expand_paths(paths: Iterable[Path | str]) -> tuple[list[Path], list[Problem]]:
    """Files to load: folders expand to their *.yaml/*.yml files, sorted. A link that leads
    nowhere (dangling, or a loop) is a problem, not skipped."""
    files: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            entries = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
            for entry in entries:
                if entry.is_file():
                    files.append(entry)
                elif entry.is_symlink():
                    problems.append(Problem(str(entry), 0, "(file)", _broken_link(entry)))
            if not entries:
                problems.append(Problem(str(path), 0, "(folder)", "no *.yaml files in this folder"))
        elif path.is_file():
            files.append(path)
        elif path.is_symlink():
            problems.append(Problem(str(path), 0, "(file)", _broken_link(path)))
        else:
            problems.append(Problem(str(path), 0, "(file)", "no such file or folder"))
    return files, problems


def _broken_link(path: Path) -> str:
    try:
        path.resolve(strict=True)
    except RuntimeError:  # Python 3.11 reports a loop this way
        return "a symbolic link that loops back on itself"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link that loops back on itself"
        return "a symbolic link to nothing (dangling)"
    return "a symbolic link to something that is not a file"


def check(paths: Iterable[Path | str]) -> tuple[KnowledgeBase, list[Problem]]:
    """Load and validate; return what loaded and every problem found."""
    files, problems = expand_paths(paths)
    readers = []
    digest = hashlib.sha256()
    for path in files:
        reader = FileReader(_display(path))
        digest.update(path.name.encode() + b"\0")
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:  # refused before parsing: YAML of this size is no notes
                reader.problem(
                    0,
                    "(file)",
                    f"{size / 2**20:.1f} MiB; a knowledge file may hold at most "
                    f"{MAX_FILE_BYTES // 2**20} MiB (split it into several files)",
                )
            else:
                data = path.read_bytes()
                digest.update(hashlib.sha256(data).digest())
                reader.read(data)
        except OSError as exc:
            reader.problem(0, "(file)", f"cannot read: {exc.strerror}")
        readers.append(reader)
    kb, more = _build(readers)
    kb = dataclasses.replace(kb, fingerprint=digest.hexdigest()[:16])
    order = {r.path: i for i, r in enumerate(readers)}
    more.sort(key=lambda p: (order.get(p.file, -1), p.line))
    return kb, problems + more


def load(paths: Iterable[Path | str] | None = None) -> KnowledgeBase:
    """Load a valid knowledge base or raise KnowledgeError naming every problem."""
    kb, problems = check(knowledge_paths(paths or ()))
    if problems:
        raise KnowledgeError(problems)
    return kb


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
