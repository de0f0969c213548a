"""Every diagnostic code is documented once, and the generated table is up to date."""

from __future__ import annotations

from pathlib import Path

from heddle_lang.codes import CODES, markdown

ROOT = Path(__file__).parent.parent


def test_generated_table_is_committed(update_snapshots: bool) -> None:
    path = ROOT / "docs" / "diagnostics.md"
    if update_snapshots:
        path.write_text(markdown(), encoding="utf-8")
    assert path.read_text(encoding="utf-8") == markdown(), "run: pytest tests/test_codes.py --update-snapshots"


def test_codes_are_well_formed_and_unique() -> None:
    names = [c.name for c in CODES.values()]
    assert len(set(names)) == len(names)
    for code, entry in CODES.items():
        assert code == entry.code and len(code) == 6 and code[:2] == "HE" and code[2:].isdigit()
        assert entry.summary.endswith(".")


# Codes a `.he` case cannot show, and the tests that cause them instead.
ELSEWHERE = {
    "HE4013": "tests/engine/test_profiles.py (reported in heddle.toml, across a project's files)",
    "HE5008": "tests/engine/test_describe.py (needs a database the checker asks)",
    "HE1015": "tests/test_cli.py (bytes that are not UTF-8: a case file is text)",
    "HE6009": "tests/engine/test_compiler_process.py (a crash of prqlc: only a compiler process survives it)",
}


def test_every_code_a_program_can_cause_has_a_test_case() -> None:
    cases = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests" / "cases").rglob("*.he"))
    missing = [code for code in CODES if not code.startswith("HE9") and code not in cases and code not in ELSEWHERE]
    assert missing == []
    for code, where in ELSEWHERE.items():
        assert code in (ROOT / where.split(" ")[0]).read_text(encoding="utf-8")
