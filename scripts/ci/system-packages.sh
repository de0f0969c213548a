#!/usr/bin/env bash
# CI: the Debian packages the run needs, installed in one go before anything else — before the home
# snapshot is taken, because a package's own configuration may write into the home folder: Chromium pulls in
# an upgrade of systemd, whose systemd-tmpfiles (provision.conf) creates /root/.ssh. What the check at the
# end of .ci/run then sees is what the project's own commands and tests wrote.
#   neovim                  Debian's Neovim 0.7, a real LSP client (tests/editors)
#   emacs-nox elpa-eglot    Emacs and its LSP client (tests/editors)
#   postgresql              a real server for fhub/postgresql's tests (they start and stop it themselves)
#   clickhouse-server       a real server for fhub/clickhouse's tests
#   chromium libkrb5-dev    the code-server end-to-end test: a browser to drive, code-server's native modules
# Usage: scripts/ci/system-packages.sh [PACKAGE...]   (no argument: every package above)
# Idempotent: installs only what dpkg does not already have.
set -euo pipefail

packages=("$@")
if [ ${#packages[@]} -eq 0 ]; then
  packages=(neovim emacs-nox elpa-eglot postgresql clickhouse-server chromium libkrb5-dev)
fi
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present (${packages[*]})"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
echo "system packages: installed ${missing[*]}"
