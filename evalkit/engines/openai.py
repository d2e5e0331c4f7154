"""OpenAI-compatible server engine (vLLM serve, SGLang, llama.cpp server, TGI, hosted APIs).

- `openai` (completions endpoint): prompts are rendered here with the local tokenizer's chat
  template, exactly as the hf and vllm engines render them, and sent as text (or as token ids
  when the tokenizer would add a BOS the rendered template already holds).
- `openai-chat` (chat endpoint): the prompt preset's messages are sent and the server applies
  its own chat template; no local model files are needed, so this is the way to evaluate a
  model served elsewhere (a cluster) by name.

One HTTP request per sample (n=1) with the sample's seed, `--batch-size` requests in flight;
429, 5xx, dropped connections and timeouts are retried with exponential backoff (honouring
Retry-After) and finished samples are stored as they arrive, so a run that gives up loses only
the requests in flight and a rerun resumes. The API key is read from the environment variable
named by --api-key-env and only ever placed in the Authorization header.
"""

from __future__ import annotations

import json
import os
import random
import threading
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2

from evalkit.engines import EngineOptions
from evalkit.engines.base import BatchCallback, GenerationRequest, SamplingConfig
from evalkit.errors import EvalkitError
from evalkit.models import ModelRef
from evalkit.records import Completion

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
STOP_REASONS = frozenset({"stop", "eos", "eos_token", "stop_sequence", "end_turn"})
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 60.0


class RetryableError(Exception):
    """A failure worth retrying: overload, server error, dropped connection, cut-off answer."""


class ServerChatTemplate:
    """Stands in for the tokenizer with the chat endpoint, where the server owns the template.

    The Prompter renders a preset's messages through `apply_chat_template`; this returns them
    as JSON, which the engine sends as the request's `messages`.
    """

    chat_template = "applied by the server"

    def apply_chat_template(self, messages: list[dict[str, str]], **_: Any) -> str:
        return json.dumps(list(messages), ensure_ascii=False)


def public_url(url: str) -> str:
    """The URL without user info, query or fragment (which may carry credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def served_model_ref(name: str, revision: str | None) -> ModelRef:
    """A model known only by its name on a server: no local files."""
    return ModelRef(name, "served", "", revision, f"served:{name}")


def backoff_delay(attempt: int, retry_after: str | None) -> float:
    """Seconds to wait before retry `attempt` (0-based): Retry-After, else jittered doubling."""
    if retry_after:
        try:
            return min(float(retry_after), BACKOFF_CAP_S * 4)
        except ValueError:
            pass
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt)
    return ceiling * (0.5 + random.random() / 2)


class OpenAIEngine:
    """Bounded-concurrency client of an OpenAI-compatible completions or chat endpoint."""

    def __init__(
        self,
        model_path: str,
        api: str = "completions",
        concurrency: int = 8,
        options: EngineOptions | None = None,
    ) -> None:
        options = options or EngineOptions()
        if not options.base_url:
            raise EvalkitError(
                "--engine openai needs --base-url, the server's OpenAI API root, "
                "e.g. http://127.0.0.1:8000/v1"
            )
        if api not in ("completions", "chat"):
            raise ValueError(api)
        self.api = api
        self.name = "openai" if api == "completions" else "openai-chat"
        self.options = options
        self.concurrency = concurrency
        self.base_url = options.base_url.rstrip("/")
        self._stop = threading.Event()
        headers = {"Authorization": f"Bearer {_api_key(options.api_key_env)}"}
        if not options.api_key_env:
            headers = {}
        self.client = httpx2.Client(
            headers=headers,
            timeout=httpx2.Timeout(options.request_timeout_s, connect=10.0),
            limits=httpx2.Limits(
                max_connections=concurrency, max_keepalive_connections=concurrency
            ),
        )
        if api == "chat":
            self.tokenizer: Any = ServerChatTemplate()
            self._send_ids = False
        else:
            if not model_path:
                raise EvalkitError(
                    "--engine openai renders prompts with the model's local tokenizer: give "
                    "--model a local folder or cached Hub id, or use --engine openai-chat"
                )
            from transformers import AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(model_path)
            plain = self.tokenizer("a", add_special_tokens=False).input_ids
            self._send_ids = len(self.tokenizer("a").input_ids) != len(plain)
        self.served_model = self._pick_model(options.served_model, model_path)
        self.server_version = self._server_version()

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "endpoint": f"{public_url(self.base_url)}/{self._path()}",
            "served_model": self.served_model,
            "server_version": self.server_version,
            "concurrency": self.concurrency,
            "max_retries": self.options.max_retries,
            "request_timeout_s": self.options.request_timeout_s,
            "api_key_env": self.options.api_key_env,
            "batching": "one request per sample (n=1, per-sample seed); server batches",
        }

    def prepare(self, requests: Sequence[GenerationRequest], sampling: SamplingConfig) -> None:
        """Nothing to size: the server owns the model and its memory."""

    def _path(self) -> str:
        return "chat/completions" if self.api == "chat" else "completions"

    def _pick_model(self, wanted: str | None, model_path: str) -> str:
        """The served id matching --model (or the local folder's name), else the only one."""
        listing = self._call("GET", f"{self.base_url}/models")
        served = [entry["id"] for entry in listing.get("data", []) if "id" in entry]
        candidates = [c for c in (wanted, model_path) if c]
        for candidate in candidates:
            for model_id in served:
                if (
                    model_id == candidate
                    or model_id.rstrip("/").split("/")[-1] == candidate.rstrip("/").split("/")[-1]
                ):
                    return model_id
        if len(served) == 1:
            return served[0]
        raise EvalkitError(
            f"{public_url(self.base_url)} serves {', '.join(served) or 'no models'}: none matches "
            f"--model {wanted!r}; pass the served name as --model"
        )

    def _server_version(self) -> str | None:
        """vLLM and SGLang answer GET /version at the server root; others may not."""
        root = self.base_url.removesuffix("/v1")
        try:
            response = self.client.get(f"{root}/version", timeout=5.0)
            return str(response.json().get("version")) if response.status_code == 200 else None
        except (httpx2.HTTPError, ValueError, AttributeError):
            return None

    def _body(self, request: GenerationRequest, sampling: SamplingConfig) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.served_model,
            "max_tokens": sampling.max_tokens,
            "temperature": sampling.temperature,
            "top_p": 1.0 if sampling.greedy else sampling.top_p,
            "seed": request.seed,
            "n": 1,
        }
        prompt = request.prompt
        if self.api == "chat":
            if prompt.add_special_tokens:
                raise EvalkitError(
                    "--engine openai-chat needs a chat prompt preset; for --prompt plain use "
                    "--engine openai (the completions endpoint)"
                )
            body["messages"] = json.loads(prompt.text)
        elif self._send_ids and not prompt.add_special_tokens:
            body["prompt"] = self.tokenizer(prompt.text, add_special_tokens=False).input_ids
        else:
            body["prompt"] = prompt.text
        return body

    def _call(self, method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One API call with retries; raises EvalkitError when it cannot succeed."""
        problem, retry_after = "", None
        for attempt in range(self.options.max_retries + 1):
            if attempt:
                if self._stop.wait(backoff_delay(attempt - 1, retry_after)):
                    break
            retry_after = None
            try:
                response = self.client.request(method, url, json=body)
                if response.status_code in RETRY_STATUSES:
                    retry_after = response.headers.get("retry-after")
                    raise RetryableError(f"HTTP {response.status_code}")
                if response.status_code != 200:
                    detail = " ".join(response.text.split())[:200]
                    raise EvalkitError(
                        f"{public_url(url)} answered HTTP {response.status_code}: {detail}"
                    )
                data = response.json()
                if body is not None:
                    _check_choice(data)
                return data
            except (httpx2.TransportError, RetryableError) as err:
                problem = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
            except ValueError as err:  # a body that is not JSON: a proxy's error page
                problem = f"unreadable answer ({err})"
        raise EvalkitError(
            f"{public_url(url)} failed after {self.options.max_retries + 1} tries ({problem}): "
            "finished samples are stored; rerun the same command to resume"
        )

    def _complete(self, request: GenerationRequest, sampling: SamplingConfig) -> Completion:
        data = self._call("POST", f"{self.base_url}/{self._path()}", self._body(request, sampling))
        choice = data["choices"][0]
        if self.api == "chat":
            text = (choice.get("message") or {}).get("content") or ""
        else:
            text = choice.get("text") or ""
        reason = "length" if choice["finish_reason"] == "length" else "stop"
        usage = data.get("usage") or {}
        num_tokens = usage.get("completion_tokens")
        if num_tokens is None and self.api == "completions":
            num_tokens = len(self.tokenizer(text, add_special_tokens=False).input_ids) + (
                reason == "stop"
            )
        return Completion(
            text, int(num_tokens or 0), reason, prompt_tokens=int(usage.get("prompt_tokens") or 0)
        )

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        sampling: SamplingConfig,
        on_batch: BatchCallback,
    ) -> None:
        """Keep `concurrency` requests in flight; store each sample as soon as it returns."""
        self._stop.clear()
        queue = list(reversed(requests))
        executor = ThreadPoolExecutor(
            max_workers=self.concurrency, thread_name_prefix="evalkit-api"
        )
        running: dict[Future, GenerationRequest] = {}
        try:
            while queue or running:
                while queue and len(running) < self.concurrency:
                    request = queue.pop()
                    running[executor.submit(self._complete, request, sampling)] = request
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                on_batch([(running.pop(future), future.result()) for future in done])
        except BaseException:
            # Stop retrying and drop the requests in flight: their samples are simply missing.
            self._stop.set()
            self.client.close()
            raise
        finally:
            executor.shutdown(wait=True, cancel_futures=True)


def _api_key(variable: str | None) -> str:
    if not variable:
        return ""
    key = os.environ.get(variable)
    if not key:
        raise EvalkitError(
            f"--api-key-env {variable}: the environment variable {variable} is not set"
        )
    return key


def _check_choice(data: dict[str, Any]) -> None:
    """A usable completion has a choice that ended by stopping or by the length limit."""
    choices = data.get("choices") or []
    if not choices:
        raise RetryableError("answer without choices")
    reason = choices[0].get("finish_reason")
    if reason != "length" and reason not in STOP_REASONS:
        raise RetryableError(f"generation ended with finish_reason={reason!r}")
