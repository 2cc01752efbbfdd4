"""The loader reports every problem with file, line and field; good files load."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from bot import knowledge_base
from bot.cli import main
from bot.config import load_settings
from bot.knowledge_base import KnowledgeError
from bot.knowledge_yaml import Problem

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
BROKEN = FIXTURES / "broken"


def problems_of(path: Path) -> list[Problem]:
    _kb, problems = knowledge_base.check([path])
    return problems


# (fixture, line, field, words the message must contain)
CASES = [
    ("syntax.yaml", 5, "(yaml)", ["YAML syntax error", "flow sequence", "line 4"]),
    ("unknown_key.yaml", 4, "alias", ["unknown field", "did you mean 'aliases'"]),
    ("missing_key.yaml", 2, "summary", ["vm-escape", "required field is missing"]),
    ("wrong_type.yaml", 4, "aliases", ["must be a list", "found a string"]),
    (
        "dangling_related.yaml",
        6,
        "related",
        ["'hypervisr' is not a concept", "did you mean 'hypervisor'"],
    ),
    ("answer_not_in_choices.yaml", 13, "answer", ["'The hypervisor' is not one of the choices"]),
    ("duplicate_choices.yaml", 15, "choices", ["listed twice"]),
    ("empty_text.yaml", 5, "summary", ["must not be empty"]),
    ("too_long.yaml", 5, "summary", ["401 characters", "limit is 400"]),
    ("too_long.yaml", 12, "choices", ["76 characters", "limit is 75"]),
    ("not_utf8.yaml", 3, "(file)", ["not valid UTF-8", "0xe9"]),
    ("empty.yaml", 1, "(file)", ["empty"]),
    ("python_tag.yaml", 3, "(yaml)", ["python/object/apply", "not allowed"]),
    ("duplicate_key.yaml", 6, "summary", ["appears twice", "first on line 5"]),
    (
        "shared_alias.yaml",
        10,
        "aliases",
        ["'Virtual Machine Monitor' also names concept 'hypervisor'"],
    ),
    ("bad_values.yaml", 2, "id", ["not a kebab-case id"]),
    ("bad_values.yaml", 12, "choices", ["found a boolean", "put it in quotes"]),
    ("bad_values.yaml", 15, "difficulty", ["'trivial' must be one of easy, medium, hard"]),
]


@pytest.mark.parametrize(
    ("fixture", "line", "field", "words"), CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES]
)
def test_each_error_class_names_file_line_and_field(
    fixture: str, line: int, field: str, words: list[str]
) -> None:
    problems = problems_of(BROKEN / fixture)
    hits = [p for p in problems if p.line == line and p.field == field]
    assert hits, f"no problem at line {line} field {field}; got {[str(p) for p in problems]}"
    text = str(hits[0])
    assert text.startswith(f"{BROKEN / fixture}:{line}: {field}: ") or text.startswith(
        f"tests/fixtures/broken/{fixture}:{line}: {field}: "
    )
    for word in words:
        assert word in text


def test_python_tag_is_never_executed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(BROKEN / "python_tag.yaml", tmp_path / "kb.yaml")
    with pytest.raises(KnowledgeError):
        knowledge_base.load([tmp_path / "kb.yaml"])
    assert not (tmp_path / "PWNED").exists()


def test_duplicate_id_across_files_names_both_places() -> None:
    problems = problems_of(FIXTURES / "dup_across_files")
    assert len(problems) == 1
    text = str(problems[0])
    assert "b.yaml:7: id: duplicate id 'hypervisor'" in text
    assert "a.yaml:2" in text


def test_every_problem_in_a_file_is_reported_not_just_the_first() -> None:
    problems = problems_of(BROKEN / "bad_values.yaml")
    assert {(p.line, p.field) for p in problems} >= {(2, "id"), (12, "choices"), (15, "difficulty")}


def test_load_raises_with_all_problems_in_the_message() -> None:
    with pytest.raises(KnowledgeError) as info:
        knowledge_base.load([BROKEN / "too_long.yaml"])
    assert len(info.value.problems) == 2
    assert "too_long.yaml:5: summary" in str(info.value)
    assert "too_long.yaml:12: choices" in str(info.value)


def test_missing_path_is_a_problem(tmp_path: Path) -> None:
    problems = problems_of(tmp_path / "nope.yaml")
    assert problems and "no such file" in problems[0].message


def test_valid_files_merge_into_one_knowledge_base() -> None:
    kb = knowledge_base.load([FIXTURES / "valid"])
    assert kb.counts() == {"concepts": 2, "questions": 1, "tips": 1, "scenarios": 1}
    escape = kb.concepts["vm-escape"]
    assert escape.related == ("hypervisor",)
    assert escape.origin.line == 2 and escape.origin.file.endswith("concepts.yaml")
    question = kb.questions["q-vm-escape-1"]
    assert question.answer_index == 0
    assert kb.scenarios["case-small"].walkthrough == ("Patch the hosts.", "Isolate management.")
    assert kb.tags() == {"attacks": ["vm-escape"], "fundamentals": ["hypervisor"]}


def test_virtsec_knowledge_env_overrides_the_bundled_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VIRTSEC_KNOWLEDGE", str(FIXTURES / "valid"))
    kb = knowledge_base.load(load_settings(dotenv_path=None).knowledge)
    assert set(kb.concepts) == {"vm-escape", "hypervisor"}


def test_kb_lint_checks_the_knowledge_named_in_a_dotenv_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("VIRTSEC_KNOWLEDGE", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"VIRTSEC_KNOWLEDGE={FIXTURES / 'broken' / 'syntax.yaml'}\n")
    out = io.StringIO()
    assert main(["kb", "lint"], stdout=out) == 1
    assert "syntax.yaml" in out.getvalue()
    (tmp_path / ".env").write_text(f"VIRTSEC_KNOWLEDGE={FIXTURES / 'valid'}\n")
    out = io.StringIO()
    assert main(["kb", "lint"], stdout=out) == 0
    assert "2 concepts" in out.getvalue()


def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    big = tmp_path / "huge.yaml"
    with big.open("w") as f:  # 3 MiB of one never-ending string: parsing it would be slow
        f.write("concepts:\n  - id: x\n    title: '")
        f.write("a" * (3 * 2**20))
    problems = problems_of(big)
    assert len(problems) == 1
    assert problems[0].file.endswith("huge.yaml") and problems[0].field == "(file)"
    assert "3.0 MiB" in problems[0].message and "at most 2 MiB" in problems[0].message


def test_a_symlink_loop_or_a_dangling_link_in_the_folder_is_reported(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "valid" / "concepts.yaml", tmp_path / "concepts.yaml")
    (tmp_path / "loop.yaml").symlink_to(tmp_path / "loop.yaml")
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    messages = {Path(p.file).name: p.message for p in problems_of(tmp_path)}
    assert messages["loop.yaml"] == "a symbolic link that loops back on itself"
    assert messages["gone.yaml"] == "a symbolic link to nothing (dangling)"
