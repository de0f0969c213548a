#!/usr/bin/env bash
# Neovim 0.10 for Debian 12 (bookworm), whose own Neovim is 0.7.2, without touching the system.
#
# Downloads Debian trixie's Neovim (0.10.x) with the libraries it needs and trixie's C runtime, unpacks
# them with `dpkg -x` into a folder, points the nvim binary at trixie's own dynamic loader and libraries
# (patchelf, itself from trixie, run through that loader), and writes a wrapper `bin/nvim` that sets
# VIMRUNTIME. Only Neovim runs on trixie's libraries: the processes it starts (heddle-lsp, cc, ...) run on
# the host's, since no LD_LIBRARY_PATH is set; and since /proc/self/exe is nvim itself, not a loader, the
# terminal UI can start its `nvim --embed` server as usual.
#
# Usage: scripts/ci/install-neovim-0.10.sh [DIR]      (default: .cache/nvim-0.10 in the repository)
# Then:  DIR/bin/nvim --version;  tests/editors/test_neovim.py finds DIR by itself when it is the default,
#        else export HEDDLE_NVIM_010=DIR/bin/nvim.
# Idempotent: when DIR/bin/nvim already runs, it only prints the version. Needs apt-get and dpkg (x86_64).
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${1:-$repo/.cache/nvim-0.10}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
root="$dir/root"
wrapper="$dir/bin/nvim"

# The packages of trixie's `neovim` and what it links to, plus the C runtime its loader brings.
# patchelf and libstdc++6 only serve to patch the binary.
packages=(neovim neovim-runtime libluajit-5.1-2 libluajit-5.1-common libmsgpack-c2 libtree-sitter0.22
          libunibilium4 libuv1t64 libvterm0 lua-lpeg lua-luv libutf8proc3 libc6 libgcc-s1 patchelf libstdc++6)

# The first line of `nvim --version` ("NVIM v0.10.4"), or nothing when the wrapper does not run.
installed_version() {
  local out
  [[ -x "$wrapper" ]] && out="$("$wrapper" --version 2>/dev/null)" || return 0
  echo "${out%%$'\n'*}"
}

version="$(installed_version)"
if [[ "$version" == "NVIM v0.10."* ]]; then
  echo "$version ($wrapper)"
  exit 0
fi

if [[ "$(uname -m)" != "x86_64" ]]; then
  echo "install-neovim-0.10: only x86_64 is prepared; install Neovim 0.10 or later another way" >&2
  exit 2
fi

# The Debian mirror this machine's apt already uses, with the trixie suite.
mirror=$( (grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}';
           grep -hE '^deb +(http|https)://' /etc/apt/sources.list 2>/dev/null | awk '{print $2}') |
          grep -v -- '-security' | head -n 1) || true
if [[ -z "$mirror" ]]; then
  echo "install-neovim-0.10: no Debian mirror found in apt's sources" >&2
  exit 2
fi

apt_dir="$dir/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$apt_dir/debs"
echo "deb $mirror trixie main" > "$apt_dir/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir" -o APT::Sandbox::User=root)

echo "install-neovim-0.10: fetching Neovim and its libraries from Debian trixie into $dir ..." >&2
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

# The binary's loader and library path become trixie's, by absolute path (DT_RPATH, which also serves
# the libraries it loads): moving the folder needs a new install.
libs="$root/usr/lib/x86_64-linux-gnu"
"$libs/ld-linux-x86-64.so.2" --library-path "$libs" "$root/usr/bin/patchelf" \
  --set-interpreter "$libs/ld-linux-x86-64.so.2" --force-rpath --set-rpath "$libs" "$root/usr/bin/nvim"

mkdir -p "$dir/bin"
cat > "$wrapper.new" <<EOF
#!/bin/sh
# Neovim from Debian trixie on its own loader and libraries (written by scripts/ci/install-neovim-0.10.sh).
VIM='$root/usr/share/nvim' VIMRUNTIME='$root/usr/share/nvim/runtime' exec '$root/usr/bin/nvim' "\$@"
EOF
chmod +x "$wrapper.new"
mv "$wrapper.new" "$wrapper"

version="$(installed_version)"
if [[ "$version" != "NVIM v0.10."* ]]; then
  echo "install-neovim-0.10: the unpacked Neovim does not run (\`$wrapper --version\` printed: ${version:-nothing})" >&2
  exit 1
fi
echo "$version ($wrapper)"
