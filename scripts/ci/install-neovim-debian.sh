#!/usr/bin/env bash
# A newer Neovim than Debian 12 (bookworm) has (0.7.2), from a later Debian suite, without touching the
# system: trixie's 0.10.x or forky's 0.12.x.
#
# Downloads the suite's Neovim with the libraries it needs and the suite's C runtime, unpacks them with
# `dpkg -x` into a folder, points the nvim binary at the suite's own dynamic loader and libraries
# (patchelf, itself from the suite, run through that loader), and writes a wrapper `bin/nvim` that sets
# VIMRUNTIME. Only Neovim runs on the suite's libraries: the processes it starts (heddle-lsp, cc, ...) run
# on the host's, since no LD_LIBRARY_PATH is set; and since /proc/self/exe is nvim itself, not a loader,
# the terminal UI can start its `nvim --embed` server as usual.
#
# Usage: scripts/ci/install-neovim-debian.sh trixie|forky [DIR]
#        (default DIR: .cache/nvim-0.10 for trixie, .cache/nvim-0.12 for forky, in the repository)
# Then:  DIR/bin/nvim --version;  tests/editors/test_neovim.py finds the default folders by itself, else
#        export HEDDLE_NVIM_010=DIR/bin/nvim (trixie) or HEDDLE_NVIM_011=DIR/bin/nvim (forky).
# Idempotent: when DIR/bin/nvim already runs the suite's version, it only prints it. Needs apt-get and
# dpkg (x86_64).
set -euo pipefail

suite=${1:-}
# The packages of the suite's `neovim` and what it links to, plus the C runtime its loader brings.
# patchelf and libstdc++6 only serve to patch the binary.
case "$suite" in
  trixie)
    series=0.10
    packages=(neovim neovim-runtime libluajit-5.1-2 libluajit-5.1-common libmsgpack-c2 libtree-sitter0.22
              libunibilium4 libuv1t64 libvterm0 lua-lpeg lua-luv libutf8proc3 libc6 libgcc-s1 patchelf libstdc++6)
    ;;
  forky)
    series=0.12
    packages=(neovim neovim-runtime libluajit-5.1-2 libluajit-5.1-common libtree-sitter0.26 libunibilium4
              libuv1t64 lua-lpeg lua-luv libutf8proc3 libc6 libc-gconv-modules-extra libgcc-s1 patchelf libstdc++6)
    ;;
  *)
    echo "usage: $0 trixie|forky [DIR]" >&2
    exit 2
    ;;
esac

repo="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${2:-$repo/.cache/nvim-$series}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
root="$dir/root"
wrapper="$dir/bin/nvim"

# The first line of `nvim --version` ("NVIM v0.10.4"), or nothing when the wrapper does not run. Its log
# (which 0.10 and later open even for --version) goes inside DIR, not into ~/.local/state.
installed_version() {
  local out
  [[ -x "$wrapper" ]] && out="$(XDG_STATE_HOME="$dir/state" "$wrapper" --version 2>/dev/null)" || return 0
  echo "${out%%$'\n'*}"
}

version="$(installed_version)"
if [[ "$version" == "NVIM v$series."* ]]; then
  echo "$version ($wrapper)"
  exit 0
fi

if [[ "$(uname -m)" != "x86_64" ]]; then
  echo "install-neovim-debian: only x86_64 is prepared; install Neovim $series another way" >&2
  exit 2
fi

# The Debian mirror this machine's apt already uses, with the suite.
mirror=$( (grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}';
           grep -hE '^deb +(http|https)://' /etc/apt/sources.list 2>/dev/null | awk '{print $2}') |
          grep -v -- '-security' | head -n 1) || true
if [[ -z "$mirror" ]]; then
  echo "install-neovim-debian: no Debian mirror found in apt's sources" >&2
  exit 2
fi

apt_dir="$dir/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$apt_dir/debs"
echo "deb $mirror $suite main" > "$apt_dir/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir" -o APT::Sandbox::User=root)

echo "install-neovim-debian: fetching Neovim and its libraries from Debian $suite into $dir ..." >&2
apt-get "${apt_opts[@]}" -qq update >&2
rm -f "$apt_dir"/debs/*.deb
(cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" -qq download "${packages[@]}" >&2)

# Unpack into a fresh tree, so an interrupted earlier run leaves nothing behind.
rm -rf "$root.new"
mkdir -p "$root.new"
for deb in "$apt_dir"/debs/*.deb; do
  dpkg -x "$deb" "$root.new"
done
rm -rf "$wrapper" "$root"
mv "$root.new" "$root"

# The binary's loader and library path become the suite's, by absolute path (DT_RPATH, which also serves
# the libraries it loads): moving the folder needs a new install.
libs="$root/usr/lib/x86_64-linux-gnu"
"$libs/ld-linux-x86-64.so.2" --library-path "$libs" "$root/usr/bin/patchelf" \
  --set-interpreter "$libs/ld-linux-x86-64.so.2" --force-rpath --set-rpath "$libs" "$root/usr/bin/nvim"

mkdir -p "$dir/bin"
cat > "$wrapper.new" <<EOF
#!/bin/sh
# Neovim from Debian $suite on its own loader and libraries (written by scripts/ci/install-neovim-debian.sh).
VIM='$root/usr/share/nvim' VIMRUNTIME='$root/usr/share/nvim/runtime' exec '$root/usr/bin/nvim' "\$@"
EOF
chmod +x "$wrapper.new"
mv "$wrapper.new" "$wrapper"

version="$(installed_version)"
if [[ "$version" != "NVIM v$series."* ]]; then
  echo "install-neovim-debian: the unpacked Neovim does not run (\`$wrapper --version\` printed: ${version:-nothing})" >&2
  exit 1
fi
echo "$version ($wrapper)"
