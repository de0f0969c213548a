"""Messages about a Secret field never show its value: not the diagnostic, not the title of its fix."""

from __future__ import annotations

from heddle_engine.catalog import load_catalog
from heddle_lang.semantic import analyze
from heddle_lang.syntax import parse

PROGRAM = '''import "fhub/postgresql" pg

resource db = pg.connection {
  host: "db.internal"
  password: 987654321
}
'''


def test_a_mistyped_secret_is_reported_without_its_value(tmp_path) -> None:  # type: ignore[no-untyped-def]
    analysis = analyze(parse(PROGRAM), load_catalog(tmp_path))
    [mistyped] = [d for d in analysis.diagnostics if d.code == "HE4006"]
    assert "987654321" not in mistyped.message
    assert mistyped.message == "`password` expects str | null, not an int (a secret: its value is not shown)"
    assert [f.title for f in mistyped.fixes] == ["quote it"]
    assert mistyped.fixes[0].edits[0].new_text == '"987654321"'  # the fix still quotes it in the text
