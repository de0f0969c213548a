#!/usr/bin/env bash
# CI: Heddle as a user installs it. Builds the sdist and, from it, the wheel (`python -m build`: the wheel
# carries the compiled grammar), then, outside the checkout, installs the wheel into a fresh virtual
# environment (with the pandas extra) and runs the quickstart, `heddle-lsp --help` and Table.to_pandas()
# from it, and installs it with pipx too. Everything but OUT_DIR is written to a scratch folder that is
# removed at the end (pip's and pipx's caches included: the build tools come from pip's own cache).
#
# Usage: scripts/ci/wheel.sh [OUT_DIR]      (default: dist/ in the repository)
#   OUT_DIR receives heddle_lang-VERSION-*.whl and heddle_lang-VERSION.tar.gz (the code-server end-to-end
#   test installs that wheel through the extension's Install button).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$repo/dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)
python=${PYTHON:-python3}
start=$SECONDS
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

echo "== build: sdist, then the wheel from the sdist (so the sdist is known to build)"
"$python" -m venv "$scratch/build"
"$scratch/build/bin/pip" install -q build pipx
rm -f "$out"/heddle_lang-*.whl "$out"/heddle_lang-*.tar.gz
"$scratch/build/bin/python" -m build --outdir "$out" "$repo" >"$scratch/build.log" 2>&1 ||
  { tail -n 40 "$scratch/build.log" >&2; exit 1; }
wheels=("$out"/heddle_lang-*.whl)
sdists=("$out"/heddle_lang-*.tar.gz)
if [ ${#wheels[@]} -ne 1 ] || [ ! -f "${wheels[0]}" ] || [ ${#sdists[@]} -ne 1 ] || [ ! -f "${sdists[0]}" ]; then
  echo "expected one wheel and one sdist in $out, found: $(ls "$out")" >&2
  exit 1
fi
wheel=${wheels[0]}
echo "   $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB), $(basename "${sdists[0]}")"
"$scratch/build/bin/python" - "$wheel" <<'EOF'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
binding = [n for n in names if n.startswith("heddle_lang/syntax/_binding") and n.endswith(".so")]
assert binding, "the wheel carries no compiled grammar (heddle_lang/syntax/_binding*.so)"
for package in ("heddle/", "heddle_lang/", "heddle_lsp/", "heddle_engine/"):
    assert any(n.startswith(package) for n in names), f"the wheel lacks {package}"
strays = [n for n in names if n.startswith(("tests/", "bench/", "examples/", "tree-sitter-heddle/"))]
assert not strays, f"the wheel carries files of the checkout: {strays[:5]}"
print(f"   compiled grammar: {binding[0]}")
EOF

echo "== a fresh virtual environment outside the checkout: pip install the wheel with [pandas]"
"$python" -m venv "$scratch/venv"
"$scratch/venv/bin/pip" install -q "$wheel[pandas]"
cp -r "$repo/examples" "$scratch/project"
cd "$scratch/project"
location=$("$scratch/venv/bin/python" -c 'import heddle_lang; print(heddle_lang.__file__)')
case "$location" in
  "$scratch/venv/"*) ;;
  *) echo "heddle_lang was imported from $location, not from the installed wheel" >&2; exit 1 ;;
esac
"$scratch/venv/bin/heddle" --version
"$scratch/venv/bin/heddle" run quickstart.he >"$scratch/quickstart.out" 2>"$scratch/quickstart.err" ||
  { cat "$scratch/quickstart.out" "$scratch/quickstart.err" >&2; exit 1; }
# The run's summary, and the row io.print printed (bob's order, over 10000 and within his limit).
grep -E "^heddle: run [0-9a-f-]+ succeeded" "$scratch/quickstart.err" | sed 's/^/   /'
grep -q "bob" "$scratch/quickstart.out" || { cat "$scratch/quickstart.out" >&2; exit 1; }
"$scratch/venv/bin/heddle-lsp" --help >"$scratch/lsp-help.out"
grep -q "^usage: heddle-lsp" "$scratch/lsp-help.out" || { cat "$scratch/lsp-help.out" >&2; exit 1; }
echo "   heddle-lsp --help: $(head -n 1 "$scratch/lsp-help.out")"
"$scratch/venv/bin/python" -c '
from heddle.core.table import Table
import pyarrow as pa
frame = Table.from_arrow(pa.table({"id": [1, 2]})).to_pandas()
assert frame["id"].tolist() == [1, 2], frame
print("   [pandas]: Table.to_pandas() works")'

echo "== pipx install of the wheel"
export PIPX_HOME="$scratch/pipx" PIPX_BIN_DIR="$scratch/pipx/bin" PIPX_MAN_DIR="$scratch/pipx/man"
"$scratch/build/bin/pipx" install --python "$python" "$wheel" >"$scratch/pipx.log" 2>&1 ||
  { cat "$scratch/pipx.log" >&2; exit 1; }
"$PIPX_BIN_DIR/heddle" --version
"$PIPX_BIN_DIR/heddle-lsp" --version
"$PIPX_BIN_DIR/heddle" check quickstart.he

echo "== the wheel works outside the checkout ($((SECONDS - start)) s)"
