#!/usr/bin/env bash
# CI: nothing writes into the home folder's dot-folders and dotfiles but the caches CI is allowed to keep.
#
# Usage: scripts/ci/home-snapshot.sh take FILE    record every entry under $HOME/.* (type, size, mtime)
#        scripts/ci/home-snapshot.sh check FILE   compare with that record: exit 1, listing what was
#                                                 created, removed or changed, when anything differs
# Left out, on purpose: $HOME/.cache (the caches CI keeps: pip's wheels, code-server, Neovim, the
# tree-sitter CLI, ...) and $HOME/.npm (npm's own cache and logs). Everything else — ~/.config, ~/.local,
# an editor's folder, a browser's ~/.pki — must be the same after a run as before it.
set -euo pipefail

if [ $# -ne 2 ] || { [ "$1" != take ] && [ "$1" != check ]; }; then
  echo "usage: $0 take|check FILE" >&2
  exit 2
fi

listing() {
  # Directories by path only (their mtime moves with any entry made and removed again inside them);
  # files by size and mtime; symbolic links by target.
  find "$HOME" -mindepth 1 \( -path "$HOME/.cache" -o -path "$HOME/.npm" \) -prune -o \
    -path "$HOME/.*" \( -type d -printf 'd %p\n' -o -type l -printf 'l %p -> %l\n' -o \
    -printf 'f %p %s %T@\n' \) 2>/dev/null | LC_ALL=C sort
}

if [ "$1" = take ]; then
  listing >"$2"
  echo "home snapshot: $(wc -l <"$2") entries under $HOME/.* (without .cache and .npm)"
  exit 0
fi

now=$(mktemp)
trap 'rm -f "$now"' EXIT
listing >"$now"
if ! differences=$(diff "$2" "$now"); then
  echo "this run wrote into $HOME outside its caches (< before, > after):" >&2
  echo "$differences" | grep -E '^[<>]' | head -n 50 >&2
  exit 1
fi
echo "home snapshot: unchanged ($(wc -l <"$now") entries under $HOME/.*, without .cache and .npm)"
