#!/usr/bin/env bash
# CI: the VS Code extension (editors/vscode). Installs its locked dependencies, typechecks, bundles, runs
# the grammar tests and the Node tests (the latter drive the real heddle-lsp over stdio), packages the
# .vsix and checks what is in it. Needs node and npm, and Heddle installed (the repository's .venv).
#
# Usage: scripts/ci/vscode.sh [HEDDLE_LSP]
#   HEDDLE_LSP (argument or variable): the server to test against; default: .venv/bin/heddle-lsp.
# Leaves editors/vscode/heddle.vsix for scripts/ci/code-server-e2e.sh.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
server=${1:-${HEDDLE_LSP:-$repo/.venv/bin/heddle-lsp}}
if [ ! -x "$server" ]; then
  echo "no heddle-lsp at $server: create the repository's .venv first (see README), or pass the server's path" >&2
  exit 1
fi
export HEDDLE_LSP=$server
cd "$repo/editors/vscode"
start=$SECONDS
stage=$SECONDS
timed() {
  echo "   ($((SECONDS - stage)) s)"
  stage=$SECONDS
}

echo "== vscode: npm ci (node $(node --version), npm $(npm --version 2>/dev/null))"
npm ci --no-audit --no-fund --loglevel=error
timed

echo "== vscode: typecheck (tsc --noEmit, strict)"
npm run --silent typecheck
timed

echo "== vscode: bundle (esbuild)"
npm run --silent build
timed

echo "== vscode: TextMate grammar tests"
npx --no-install vscode-tmgrammar-test -g syntaxes/heddle.tmLanguage.json 'test/grammar/*.he'
timed

echo "== vscode: Node tests against $HEDDLE_LSP"
node --test test/*.test.mjs
timed

echo "== vscode: package and check the .vsix"
rm -f heddle.vsix
npx --no-install vsce package --no-dependencies --allow-missing-repository --out heddle.vsix
node scripts/check-vsix.mjs heddle.vsix
timed

echo "== vscode: done in $((SECONDS - start)) s"
