"""OpenAI-compatible server engine (vLLM serve, SGLang, llama.cpp server, TGI, hosted APIs).

- `openai` (completions endpoint): prompts are rendered here with the local tokenizer's chat
  template, exactly as the hf and vllm engines render them, and sent as text (or as token ids
  when the tokenizer would add a BOS the rendered template already holds).
- `openai-chat` (chat endpoint): the prompt preset's messages are sent and the server applies
  its own chat template; no local model files are needed, so this is the way to evaluate a
  model served elsewhere (a cluster) by name.

One HTTP request per sample (n=1) with the sample's seed, `--batch-size` requests in flight on
daemon threads, so Ctrl-C never waits for a server that hangs. Timeouts, backoff and the plain
words for each failure live in evalkit.generation.engines.server_faults. A server that has not
answered
yet gets at most START_BUDGET_S of retries (a wrong URL or a server that is down ends the run
in well under a minute); once it has answered, a failing request is retried for --max-retries
tries and --retry-budget seconds, enough for a restart. Each retry and its cause is reported
through `on_status` (the progress bar). Finished samples are stored as they arrive, so a run
that gives up loses only the requests in flight and a rerun resumes. The API key is read from
the environment variable named by --api-key-env and only ever placed in the Authorization
header.
"""

from __future__ import annotations

import json
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx2

from evalkit.errors import EvalkitError
from evalkit.generation.engines import EngineOptions, StatusCallback
from evalkit.generation.engines.base import BatchCallback, GenerationRequest, SamplingConfig
from evalkit.generation.engines.server_faults import (
    BASE_URL_FIX,
    PROBE_READ_TIMEOUT_S,
    START_BUDGET_S,
    Fault,
    FaultError,
    backoff_delay,
    one_line,
    read_timeout_rule,
    read_timeout_s,
    status_fault,
    transport_fault,
)
from evalkit.generation.models import ModelRef
from evalkit.records import Completion

STOP_REASONS = frozenset({"stop", "eos", "eos_token", "stop_sequence", "end_turn"})
VERSION_TIMEOUT_S = 5.0
DEFAULT_CONCURRENCY = 8  # requests in flight when --batch-size is not given
T = TypeVar("T")


class Stopped(Exception):
    """A retry wait was cut short because the run is ending."""


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


def server_name(url: str) -> str:
    """`host:port` of a URL (just the host when the port is the scheme's default)."""
    parts = urlsplit(url)
    host = parts.hostname or url
    return f"{host}:{parts.port}" if parts.port else host


def served_model_ref(name: str, revision: str | None) -> ModelRef:
    """A model known only by its name on a server: no local files."""
    return ModelRef(name, "served", "", revision, f"served:{name}")


class OpenAIEngine:
    """Bounded-concurrency client of an OpenAI-compatible completions or chat endpoint."""

    def __init__(
        self,
        model_path: str,
        api: str = "completions",
        concurrency: int = DEFAULT_CONCURRENCY,
        options: EngineOptions | None = None,
        on_status: StatusCallback | None = None,
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
        self.on_status: StatusCallback = on_status or (lambda text: None)
        self.base_url = options.base_url.rstrip("/")
        self.server = f"server at {server_name(self.base_url)}"
        self._key = _api_key(options.api_key_env)
        self._answered = threading.Event()  # set by the server's first usable answer
        self.client = httpx2.Client(
            headers={"Authorization": f"Bearer {self._key}"} if self._key else {},
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
            "retry_budget_s": self.options.retry_budget_s,
            "connect_timeout_s": self.options.connect_timeout_s,
            "request_timeout_s": self.options.request_timeout_s or read_timeout_rule(),
            "api_key_env": self.options.api_key_env,
            "batching": "one request per sample (n=1, per-sample seed); server batches",
        }

    def check(self, requests: Sequence[GenerationRequest], sampling: SamplingConfig) -> None:
        """Nothing to check here: only the server knows its context (it refuses with a 400)."""

    def prepare(self, requests: Sequence[GenerationRequest], sampling: SamplingConfig) -> None:
        """Nothing to size: the server owns the model and its memory."""

    def _path(self) -> str:
        return "chat/completions" if self.api == "chat" else "completions"

    def _pick_model(self, wanted: str | None, model_path: str) -> str:
        """The served id matching --model (or the local folder's name), else the only one."""
        read_s = min(PROBE_READ_TIMEOUT_S, self.options.request_timeout_s or PROBE_READ_TIMEOUT_S)
        served = self._call("GET", f"{self.base_url}/models", _model_ids, read_s)
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
        listed = one_line(", ".join(served) or "no models")
        raise EvalkitError(
            f"{public_url(self.base_url)} serves {listed}: none matches "
            f"--model {wanted!r}; pass the served name as --model"
        )

    def _server_version(self) -> str | None:
        """vLLM and SGLang answer GET /version at the server root; others may not."""
        root = self.base_url.removesuffix("/v1")
        timeout = httpx2.Timeout(VERSION_TIMEOUT_S, connect=self.options.connect_timeout_s)
        try:
            response = self.client.get(f"{root}/version", timeout=timeout)
            version = response.json().get("version") if response.status_code == 200 else None
        except (httpx2.HTTPError, ValueError, RecursionError, AttributeError):
            return None
        return one_line(str(version)) if version is not None else None

    def _body(self, request: GenerationRequest, sampling: SamplingConfig) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.served_model,
            "max_tokens": sampling.max_tokens,
            "temperature": sampling.temperature,
            "top_p": 1.0 if sampling.greedy else sampling.top_p,
            "seed": request.seed,
            "n": 1,
        }
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        # vLLM's and SGLang's extensions of the API, sent only when set
        for name, value, off in (("top_k", sampling.top_k, 0), ("min_p", sampling.min_p, 0.0),
                                 ("repetition_penalty", sampling.repetition_penalty, 1.0)):
            if value != off:
                body[name] = value
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

    def _call(
        self,
        method: str,
        url: str,
        parse: Callable[[httpx2.Response], T],
        read_s: float,
        body: dict[str, Any] | None = None,
        stop: threading.Event | None = None,
    ) -> T:
        """One API call with retries; raises EvalkitError, naming the cause, when it gives up.

        Before the server's first answer, retries end START_BUDGET_S (at most) after the
        first try began, and their timeouts are cut to that deadline; afterwards a request may
        keep failing for --retry-budget seconds from its first failure.
        """
        options = self.options
        started = time.monotonic()
        starting = not self._answered.is_set()
        deadline = started + min(options.retry_budget_s, START_BUDGET_S) if starting else None
        tries = 0
        while True:
            tries += 1
            connect_s, try_read_s = options.connect_timeout_s, read_s
            if starting and tries > 1 and deadline is not None:
                left = max(deadline - time.monotonic(), 1.0)
                connect_s, try_read_s = min(connect_s, left), min(read_s, left)
            timeout = httpx2.Timeout(try_read_s, connect=connect_s)
            try:
                result = parse(self._checked(self.client.request(
                    method, url, json=body, timeout=timeout)))
            except httpx2.TransportError as err:
                fault = transport_fault(err, connect_s, try_read_s)
            except FaultError as err:
                fault = err.fault
            else:
                self._answered.set()
                if tries > 1:
                    self.on_status("")
                return result
            cause = self._redact(fault.cause)
            if not fault.retryable:
                raise EvalkitError(f"{self.server} {cause}: {fault.fix}")
            now = time.monotonic()
            if deadline is None:
                deadline = now + options.retry_budget_s
            delay = backoff_delay(tries - 1, fault.retry_after_s)
            if tries > options.max_retries or now + delay > deadline:
                raise EvalkitError(self._giving_up(cause, tries, now - started, starting))
            self.on_status(
                f"{self.server} {cause}, retry {tries}/{options.max_retries} in "
                f"{math.ceil(delay)} s"
            )
            if (stop or threading.Event()).wait(delay):
                raise Stopped()

    def _checked(self, response: httpx2.Response) -> httpx2.Response:
        """The response if it is a 200, else a FaultError saying what the status means."""
        if response.status_code != 200:
            raise FaultError(status_fault(
                response.status_code, response.text, response.headers.get("retry-after"),
                sends_key=bool(self._key),
            ))
        return response

    def _giving_up(self, cause: str, tries: int, elapsed_s: float, starting: bool) -> str:
        spent = f"{tries} {'try' if tries == 1 else 'tries'} in {elapsed_s:.0f} s"
        if starting:
            return (
                f"{self.server} {cause} ({spent}): check that the server is running and that "
                f"--base-url {public_url(self.base_url)} is its OpenAI API root (ending in /v1)"
            )
        return (
            f"{self.server} {cause} ({spent}): finished samples are stored; rerun the same "
            "command to resume once the server answers again"
        )

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "[api key]") if self._key else text

    def _complete(
        self,
        request: GenerationRequest,
        sampling: SamplingConfig,
        read_s: float,
        stop: threading.Event,
    ) -> Completion:
        return self._call(
            "POST", f"{self.base_url}/{self._path()}", self._completion, read_s,
            self._body(request, sampling), stop,
        )

    def _completion(self, response: httpx2.Response) -> Completion:
        """The completion in a 200 answer; retryable when cut off, else a format fault."""
        data = _json(response, retryable=True)
        choice = _first_choice(data)
        if self.api == "chat":
            message = choice.get("message")
            text = message.get("content") if isinstance(message, dict) else None
        else:
            text = choice.get("text")
        if not isinstance(text, str | None):
            raise FaultError(_not_openai("its completion text is not a string"))
        text = text or ""
        reason = "length" if choice["finish_reason"] == "length" else "stop"
        usage = data.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        num_tokens = _token_count(usage, "completion_tokens")
        if num_tokens is None and self.api == "completions":
            num_tokens = len(self.tokenizer(text, add_special_tokens=False).input_ids) + (
                reason == "stop"
            )
        return Completion(
            text, num_tokens or 0, reason, prompt_tokens=_token_count(usage, "prompt_tokens") or 0
        )

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        sampling: SamplingConfig,
        on_batch: BatchCallback,
    ) -> None:
        """Keep `concurrency` requests in flight; store each sample as soon as it returns.

        Workers are daemon threads: when this call ends early (an error, Ctrl-C) it returns at
        once and the requests in flight are abandoned; their samples are simply missing.
        """
        read_s = read_timeout_s(sampling.max_tokens, self.options.request_timeout_s)
        todo: queue.SimpleQueue[GenerationRequest] = queue.SimpleQueue()
        for request in requests:
            todo.put(request)
        done: queue.SimpleQueue[tuple[GenerationRequest, Completion | Exception]] = (
            queue.SimpleQueue()
        )
        stop = threading.Event()
        for _ in range(min(self.concurrency, len(requests))):
            threading.Thread(
                target=self._work, args=(todo, done, sampling, read_s, stop),
                name="evalkit-api", daemon=True,
            ).start()
        try:
            remaining = len(requests)
            while remaining:
                arrived = [done.get()]
                while not done.empty():
                    arrived.append(done.get_nowait())
                remaining -= len(arrived)
                finished = [(r, o) for r, o in arrived if isinstance(o, Completion)]
                if finished:
                    on_batch(finished)
                for _, outcome in arrived:
                    if isinstance(outcome, Exception):
                        raise outcome
        finally:
            stop.set()

    def _work(
        self,
        todo: queue.SimpleQueue,
        done: queue.SimpleQueue,
        sampling: SamplingConfig,
        read_s: float,
        stop: threading.Event,
    ) -> None:
        while not stop.is_set():
            try:
                request = todo.get_nowait()
            except queue.Empty:
                return
            try:
                outcome: Completion | Exception = self._complete(request, sampling, read_s, stop)
            except Exception as err:  # ends the run: handed to the caller's thread to raise
                stop.set()
                outcome = err
            done.put((request, outcome))


def _api_key(variable: str | None) -> str:
    if not variable:
        return ""
    key = os.environ.get(variable)
    if not key:
        raise EvalkitError(
            f"--api-key-env {variable}: the environment variable {variable} is not set"
        )
    return key


def _not_openai(what: str) -> Fault:
    return Fault(
        f"sent an answer that is not in the OpenAI format ({what})", False,
        "check that --base-url points at an OpenAI-compatible server's API root (ending in /v1)",
    )


def _json(response: httpx2.Response, retryable: bool) -> Any:
    """The answer's JSON; one that does not parse is a fault (worth retrying or not)."""
    try:
        return response.json()
    except (ValueError, RecursionError) as err:
        cause = f"sent an answer that is not JSON ({one_line(str(err), 80)})"
        raise FaultError(Fault(cause, retryable, BASE_URL_FIX)) from None


def _model_ids(response: httpx2.Response) -> list[str]:
    """The ids in a GET /models answer; anything else means --base-url is not an OpenAI API."""
    data = _json(response, retryable=False)
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise FaultError(_not_openai("GET /models did not list models"))
    return [str(e["id"]) for e in entries if isinstance(e, dict) and e.get("id") is not None]


def _first_choice(data: Any) -> dict[str, Any]:
    """The first choice, if it ended by stopping or at the length limit (else retryable)."""
    if not isinstance(data, dict):
        raise FaultError(_not_openai("not a JSON object"))
    choices = data.get("choices")
    if not choices:
        raise FaultError(Fault("sent an answer without choices", True))
    if not isinstance(choices, list) or not isinstance(choices[0], dict):
        raise FaultError(_not_openai("its choices are not a list of objects"))
    reason = choices[0].get("finish_reason")
    if reason != "length" and not (isinstance(reason, str) and reason in STOP_REASONS):
        cause = f"ended a generation early (finish_reason={one_line(repr(reason), 40)})"
        raise FaultError(Fault(cause, True))
    return choices[0]


def _token_count(usage: dict[str, Any], field: str) -> int | None:
    """A usage count as an int; None when absent; a format fault when it is not a count."""
    value = usage.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultError(_not_openai(f"usage.{field} is not a number"))
    if value < 0 or (isinstance(value, float) and not value.is_integer()):
        raise FaultError(_not_openai(f"usage.{field} is not a token count"))
    return int(value)
