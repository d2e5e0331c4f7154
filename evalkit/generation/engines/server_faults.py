"""How the server engines wait, back off, and put a failing server into plain words.

Timeouts: connecting gets EngineOptions.connect_timeout_s (10 s); an answer may take as long
as generating `max_tokens` at MIN_TOKENS_PER_S, and at least MIN_READ_TIMEOUT_S
(`--request-timeout` overrides both). A server that has not answered yet gets at most
START_BUDGET_S of retries in all. Retries back off by jittered doubling from BACKOFF_BASE_S up
to BACKOFF_CAP_S, or wait what a finite Retry-After asks. Each `Fault` says what went wrong
(completing "server at HOST:PORT ...") and whether trying again can help; those that cannot
carry the fix.
"""

from __future__ import annotations

import json
import math
import random
import socket
import ssl
from dataclasses import dataclass
from http import HTTPStatus

import httpx2

from evalkit.generation.engines import MAX_WAIT_S

MIN_TOKENS_PER_S = 5.0
MIN_READ_TIMEOUT_S = 60.0
START_BUDGET_S = 30.0  # retry time for a server that has not answered yet, at most
PROBE_READ_TIMEOUT_S = 10.0  # the model listing is instant on a working server
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 60.0
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
DETAIL_CHARS = 200

BASE_URL_FIX = (
    "check that --base-url is the server's OpenAI API root (ending in /v1) and that the server "
    "serves the model named by --model"
)


@dataclass(frozen=True)
class Fault:
    """Why one try failed: `cause` completes "server at HOST:PORT ..."; `fix` is for the user."""

    cause: str
    retryable: bool
    fix: str = ""
    retry_after_s: float | None = None


class FaultError(Exception):
    """Raised while reading an answer that is unusable; carries its Fault."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.cause)
        self.fault = fault


def read_timeout_s(max_tokens: int, override: float | None) -> float:
    """Seconds to wait for one answer: the override, else max_tokens at the slowest speed."""
    if override is not None:
        return override
    return min(MAX_WAIT_S, max(MIN_READ_TIMEOUT_S, max_tokens / MIN_TOKENS_PER_S))


def read_timeout_rule() -> str:
    """The derived read timeout in words, recorded with results when no override is given."""
    return f"max({MIN_READ_TIMEOUT_S:g}, max_tokens / {MIN_TOKENS_PER_S:g} tokens/s) s"


def backoff_delay(attempt: int, retry_after_s: float | None) -> float:
    """Seconds before retry `attempt` (0-based): what Retry-After asks, else jittered doubling."""
    if retry_after_s is not None:
        return retry_after_s
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt)
    return ceiling * (0.5 + random.random() / 2)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds when it is a finite, non-negative number (dates are ignored)."""
    try:
        seconds = float(value) if value else math.nan
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def one_line(text: str, limit: int = DETAIL_CHARS) -> str:
    """Server-supplied text made safe for one terminal line: printable, collapsed, cut."""
    printable = "".join(ch if ch.isprintable() else " " for ch in text)
    collapsed = " ".join(printable.split())
    return collapsed if len(collapsed) <= limit else collapsed[: limit - 3] + "..."


def transport_fault(err: httpx2.TransportError, connect_s: float, read_s: float) -> Fault:
    """A failure below HTTP: refused, unresolvable, timed out, dropped."""
    if isinstance(err, httpx2.ConnectTimeout):
        return Fault(f"did not accept the connection within {_seconds(connect_s)}", True)
    if isinstance(err, httpx2.ReadTimeout):
        return Fault(f"did not answer within {_seconds(read_s)}", True)
    if isinstance(err, httpx2.TimeoutException):
        return Fault("did not take the request in time", True)
    if isinstance(err, httpx2.ConnectError):
        root = _root_cause(err)
        if isinstance(root, ConnectionRefusedError):
            return Fault("refused the connection", True)
        if isinstance(root, socket.gaierror):
            return Fault("has a host name that does not resolve", True)
        if isinstance(root, ssl.SSLError):
            return Fault(
                f"failed the TLS handshake ({one_line(str(root))})", False,
                "check the https address in --base-url and the server's certificate",
            )
        return Fault(f"could not be connected to ({one_line(str(err))})", True)
    if isinstance(err, (httpx2.RemoteProtocolError, httpx2.ReadError, httpx2.WriteError)):
        return Fault("dropped the connection", True)
    return Fault(f"failed ({type(err).__name__}: {one_line(str(err))})", True)


def status_fault(status: int, body: str, retry_after: str | None, sends_key: bool) -> Fault:
    """An HTTP answer other than 200: retried when the server may recover, else the fix."""
    detail = _error_detail(body)
    answered = f"HTTP {status} {_phrase(status)}".rstrip() + (f": {detail}" if detail else "")
    if status in RETRY_STATUSES:
        wait_s = parse_retry_after(retry_after)
        asks = f" and asks to retry after {_seconds(wait_s)}" if wait_s is not None else ""
        verb = "is overloaded" if status == 429 else "is failing"
        return Fault(f"{verb} ({answered}){asks}", True, retry_after_s=wait_s)
    if status in (401, 403):
        fix = (
            "check that the environment variable named by --api-key-env holds a key this "
            "server accepts" if sends_key else
            "the server wants an API key: put it in an environment variable and pass the "
            "variable's name as --api-key-env"
        )
        return Fault(f"refused the request as unauthorised ({answered})", False, fix)
    if status == 404:
        return Fault(f"does not know the address or model ({answered})", False, BASE_URL_FIX)
    if 400 <= status < 500:
        return Fault(
            f"rejected the request ({answered})", False,
            "check --max-tokens against the model's context length on the server, and the "
            "sampling options",
        )
    return Fault(f"answered {answered}", False, BASE_URL_FIX)


def _root_cause(err: BaseException) -> BaseException:
    seen: set[int] = set()
    while (err.__cause__ or err.__context__) is not None and id(err) not in seen:
        seen.add(id(err))
        err = err.__cause__ or err.__context__  # type: ignore[assignment]
    return err


def _error_detail(body: str) -> str:
    """The message of an OpenAI-style error body, else the body itself, on one line."""
    try:
        data = json.loads(body)
    except ValueError:
        return one_line(body)
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict):
            error = error.get("message") or error.get("detail") or error
        return one_line(error if isinstance(error, str) else json.dumps(error))
    return one_line(body)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.2g} s"
