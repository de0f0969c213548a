#!/usr/bin/env bash
# CI: install Debian's Neovim (0.7.2 on bookworm) for tests/editors/test_neovim.py, a real LSP client of
# heddle-lsp. Idempotent: does nothing when nvim is already on PATH. Prints the version either way.
set -euo pipefail

if ! command -v nvim >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq neovim >/dev/null
fi
nvim --version | head -n 1
