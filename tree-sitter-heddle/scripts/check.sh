#!/usr/bin/env bash
# Checks the Heddle tree-sitter grammar:
#   1. src/ is what `tree-sitter generate` makes from grammar.js (regenerated in a scratch folder,
#      so the working tree is never touched);
#   2. `tree-sitter test` passes: the corpus (test/corpus) and the highlight assertions
#      (test/highlight, which use queries/).
#
# Usage: tree-sitter-heddle/scripts/check.sh [PATH_TO_TREE_SITTER_CLI]
# The CLI defaults to ../shared/tools/tree-sitter, relative to the repository root.
# Needs node (for `generate`) and a C compiler (for `test`), like the tree-sitter CLI itself.
set -euo pipefail

GRAMMAR_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_ROOT="$(cd "$GRAMMAR_DIR/.." && pwd)"

TS="${1:-$REPO_ROOT/../shared/tools/tree-sitter}"
if [[ "$TS" != */* ]]; then
  # A bare command name: look it up on PATH.
  TS="$(command -v "$TS" || true)"
elif [[ "$TS" != /* ]]; then
  TS="$PWD/$TS"
fi
if [[ -z "$TS" || ! -x "$TS" ]]; then
  echo "check.sh: tree-sitter CLI not found or not executable: ${1:-$REPO_ROOT/../shared/tools/tree-sitter}" >&2
  exit 2
fi

for tool in node python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "check.sh: $tool is needed (node for \`tree-sitter generate\`, python3 to edit the CLI config)" >&2
    exit 2
  fi
done

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# The CLI keeps its config and compiled parsers here, never in the user's home.
export TREE_SITTER_DIR="$WORK/config" TREE_SITTER_LIBDIR="$WORK/lib"
mkdir -p "$TREE_SITTER_DIR" "$TREE_SITTER_LIBDIR"

echo "== tree-sitter: $("$TS" --version)"

# Config: the loader finds grammars in the folders of "parser-directories", each grammar in a
# subfolder named tree-sitter-NAME. Give it a folder holding only this grammar.
"$TS" init-config >/dev/null
PARSERS="$WORK/parsers"
mkdir -p "$PARSERS"
ln -s "$GRAMMAR_DIR" "$PARSERS/tree-sitter-heddle"
python3 - "$TREE_SITTER_DIR/config.json" "$PARSERS" <<'PY'
import json, sys
path, parsers = sys.argv[1], sys.argv[2]
with open(path) as f:
    config = json.load(f)
config["parser-directories"] = [parsers]
with open(path, "w") as f:
    json.dump(config, f, indent=2)
PY

# 1. Regenerate in a scratch copy and compare with the committed src/.
echo "== generate: checking that src/ matches grammar.js"
GEN="$WORK/generate"
mkdir -p "$GEN/src"
cp "$GRAMMAR_DIR/grammar.js" "$GRAMMAR_DIR/package.json" "$GRAMMAR_DIR/tree-sitter.json" "$GEN/"
cp "$GRAMMAR_DIR/src/scanner.c" "$GEN/src/"
(cd "$GEN" && "$TS" generate --no-bindings)

stale=()
for file in parser.c grammar.json node-types.json; do
  cmp -s "$GEN/src/$file" "$GRAMMAR_DIR/src/$file" || stale+=("src/$file")
done
for header in "$GEN"/src/tree_sitter/*.h; do
  name="src/tree_sitter/$(basename "$header")"
  cmp -s "$header" "$GRAMMAR_DIR/$name" || stale+=("$name")
done
for header in "$GRAMMAR_DIR"/src/tree_sitter/*.h; do
  [[ -e "$GEN/src/tree_sitter/$(basename "$header")" ]] || stale+=("src/tree_sitter/$(basename "$header") (not generated any more)")
done
if ((${#stale[@]})); then
  echo "check.sh: these generated files differ from what grammar.js produces:" >&2
  printf '  tree-sitter-heddle/%s\n' "${stale[@]}" >&2
  echo "Regenerate them: cd tree-sitter-heddle && tree-sitter generate --no-bindings (CLI $("$TS" --version | awk '{print $2}')), then commit src/." >&2
  exit 1
fi
echo "src/ is up to date."

# 2. Corpus and highlight tests.
echo "== test: corpus and highlight assertions"
cd "$GRAMMAR_DIR"
"$TS" test
