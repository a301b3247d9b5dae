"""The server: one loopback HTTP/1.1 listener that speaks all four providers' APIs."""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import struct
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ._usage import PROVIDERS, compute_usage, count_input_tokens, split_deltas
from ._wire import (
    PROVIDER_WIRES,
    Completion,
    ErrorReply,
    Provider,
    RequestContext,
    StreamParts,
    dumps,
)

FAULTS = (
    "unauthorized",
    "forbidden",
    "rate_limited",
    "server_error",
    "overloaded",
    "slow",
    "reset",
    "malformed",
    "stream_cut",
)

# Faults answered with the provider's own error body instead of a reply.
_ERROR_FAULTS = {
    "unauthorized": "invalid_key",
    "forbidden": "forbidden",
    "rate_limited": "rate_limited",
    "server_error": "server_error",
    "overloaded": "overloaded",
}

DEFAULT_REPLY_TEXT = "Hello from the fake {provider}."
DEFAULT_SLOW_DELAY = 5.0
DEFAULT_RETRY_AFTER = 1.0

# Accepted out of the box (and again after reset()), so demos and quick tests need no set-up.
DEFAULT_KEYS: dict[str, str] = {
    "anthropic": "sk-ant-api03-fake-anthropic-key-0000000000",
    "openai": "sk-proj-fake-openai-key-00000000000000000000",
    "google": "AIzaSyFakeGoogleKey-000000000000000000",
    "mistral": "fake-mistral-key-0000000000000000",
}

# What /models lists for a key that is not restricted to particular models.
DEFAULT_MODELS: dict[str, tuple[str, ...]] = {
    "anthropic": ("claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"),
    "openai": ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-5", "gpt-5-mini"),
    "google": ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite", "gemini-2.0-flash"),
    "mistral": (
        "mistral-large-latest",
        "mistral-medium-latest",
        "mistral-small-latest",
        "open-mistral-nemo",
    ),
}

# The path each provider's SDK base URL must end with (OpenAI's SDK expects the /v1 in it).
_SDK_SUFFIX = {"anthropic": "", "openai": "/v1", "google": "", "mistral": ""}


@dataclass
class RecordedRequest:
    provider: str
    method: str
    path: str  # below the provider prefix, e.g. "/v1/messages"
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    json: Any  # parsed body, or None
    api_key: str | None
    key_in_url: bool
    # Extras beyond the agreed interface; filled in as the request is served.
    body: bytes = b""
    stream: bool = False
    fault: str | None = None
    status: int | None = None  # None when the connection was dropped without an answer


@dataclass
class KeyConfig:
    quota_exhausted: bool = False
    models: tuple[str, ...] | None = None

    def allows(self, model: str | None) -> bool:
        return self.models is None or model is None or _bare_model(model) in self.models


@dataclass
class _Fault:
    name: str
    remaining: int | None
    retry_after: float | None = None
    delay: float | None = None


def _bare_model(model: str) -> str:
    return model.removeprefix("models/")


def _check_provider(provider: str) -> str:
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}; expected one of {PROVIDERS}")
    return provider


class _AbortConnection(Exception):
    """The handler has already torn the connection down; nothing more may be written."""


@dataclass
class _State:
    keys: dict[str, dict[str, KeyConfig]] = field(default_factory=dict)
    faults: dict[str, deque[_Fault]] = field(default_factory=dict)


class FakeProviderServer:
    """A wire-compatible stand-in for the Anthropic, OpenAI, Gemini and Mistral APIs on loopback.

    Thread-safe: tests configure it from the main thread while handler threads serve requests.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self.errors: list[str] = []  # tracebacks of bugs in the fake itself; should stay empty
        self.catalog: dict[str, list[str]] = {p: list(m) for p, m in DEFAULT_MODELS.items()}
        self._lock = threading.RLock()
        self._state = _State()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._ids = itertools.count(1)
        self.reply_text: str | Callable[[str, Any], str] = DEFAULT_REPLY_TEXT
        self.latency = 0.0
        self.chunk_delay = 0.0
        self.cached_tokens = 0
        self.cache_creation_tokens = 0
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeProviderServer:
        with self._lock:
            if self._httpd is not None:
                return self
            self._wake = threading.Event()
            httpd = _HTTPServer((self.host, self.port), _Handler, self)
            self.port = httpd.server_address[1]
            thread = threading.Thread(
                target=httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"fake-provider-server:{self.port}",
                daemon=True,
            )
            thread.start()
            self._httpd, self._thread = httpd, thread
        return self

    def stop(self) -> None:
        with self._lock:
            httpd, thread = self._httpd, self._thread
            self._httpd = self._thread = None
        if httpd is None:
            return
        self._wake.set()  # cut short any latency or "slow" sleep
        httpd.shutdown()
        httpd.close_all_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def __enter__(self) -> FakeProviderServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, provider: str) -> str:
        """The base URL to give that provider's SDK (or our settings) in place of the real one."""
        _check_provider(provider)
        return f"{self.base_url}/{provider}{_SDK_SUFFIX[provider]}"

    # -- configuration -----------------------------------------------------------------------

    def add_key(
        self,
        provider: str,
        key: str,
        *,
        quota_exhausted: bool = False,
        models: list[str] | tuple[str, ...] | None = None,
    ) -> str:
        _check_provider(provider)
        allowed = None if models is None else tuple(_bare_model(m) for m in models)
        with self._lock:
            self._state.keys.setdefault(provider, {})[key] = KeyConfig(quota_exhausted, allowed)
        return key

    def remove_key(self, provider: str, key: str) -> None:
        """Revoke a key: later requests with it get the provider's unknown-key error."""
        with self._lock:
            self._state.keys.get(_check_provider(provider), {}).pop(key, None)

    def default_key(self, provider: str) -> str:
        return DEFAULT_KEYS[_check_provider(provider)]

    def inject(
        self,
        provider: str,
        fault: str,
        *,
        times: int | None = 1,
        retry_after: float | None = None,
        delay: float | None = None,
    ) -> None:
        """Make the next ``times`` requests to ``provider`` fail with ``fault``.

        ``times=None`` keeps failing until ``clear_faults()``. Faults queue up in order.
        """
        _check_provider(provider)
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {FAULTS}")
        if times is not None and times < 1:
            raise ValueError("times must be a positive integer or None")
        with self._lock:
            self._state.faults.setdefault(provider, deque()).append(
                _Fault(fault, times, retry_after, delay)
            )

    def clear_faults(self) -> None:
        with self._lock:
            self._state.faults.clear()

    def reset(self) -> None:
        """Back to a fresh server: default keys only, no faults, no requests, default reply."""
        with self._lock:
            self._state = _State()
            for provider, key in DEFAULT_KEYS.items():
                self._state.keys[provider] = {key: KeyConfig()}
            self.requests.clear()
            self.errors.clear()
            self.catalog = {p: list(m) for p, m in DEFAULT_MODELS.items()}
            self.reply_text = DEFAULT_REPLY_TEXT
            self.latency = 0.0
            self.chunk_delay = 0.0
            self.cached_tokens = 0
            self.cache_creation_tokens = 0

    # -- what the fake reports ---------------------------------------------------------------

    def reply_for(self, provider: str, request_json: Any = None) -> str:
        reply = self.reply_text
        if callable(reply):
            return reply(provider, request_json)
        return reply.replace("{provider}", provider)

    def usage_for(self, provider: str, request_json: Any, reply_text: str | None = None) -> dict:
        """The exact usage object the fake sends for this request, in the provider's field names."""
        _check_provider(provider)
        if reply_text is None:
            reply_text = self.reply_for(provider, request_json)
        return compute_usage(
            provider,
            request_json if isinstance(request_json, dict) else None,
            reply_text,
            cached_tokens=self.cached_tokens,
            cache_creation_tokens=self.cache_creation_tokens,
        )

    def requests_for(self, provider: str) -> list[RecordedRequest]:
        return [r for r in list(self.requests) if r.provider == provider]

    # -- used by the handler -----------------------------------------------------------------

    def _next_id(self) -> int:
        return next(self._ids)

    def _take_fault(self, provider: str) -> _Fault | None:
        with self._lock:
            queue = self._state.faults.get(provider)
            if not queue:
                return None
            fault = queue[0]
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
            return fault

    def _key_config(self, provider: str, key: str) -> KeyConfig | None:
        with self._lock:
            return self._state.keys.get(provider, {}).get(key)

    def _all_keys(self) -> list[str]:
        with self._lock:
            return [k for keys in self._state.keys.values() for k in keys]

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._wake.wait(seconds)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # A benchmark opens hundreds of connections at once; the default backlog of 5 would drop them.
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type, owner: FakeProviderServer) -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request_thread(self, request, client_address):  # type: ignore[override]
        with self._connections_lock:
            self._connections.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.discard(request)

    def close_all_connections(self) -> None:
        # Wakes handler threads parked on idle keep-alive connections.
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request, client_address):  # type: ignore[override]
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return  # clients hanging up mid-response are business as usual here
        self.owner.errors.append(traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeProviderServer/1.0"
    sys_version = ""
    disable_nagle_algorithm = True  # SSE deltas are tiny; don't let Nagle batch them
    timeout = 300  # reap keep-alive connections a client forgot about

    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    # -- top level ---------------------------------------------------------------------------

    def _serve(self) -> None:
        owner = self.server.owner
        try:
            self._serve_request(owner)
        except _AbortConnection:
            self.close_connection = True
        except OSError:
            self.close_connection = True
        except Exception:
            owner.errors.append(traceback.format_exc())
            with contextlib.suppress(Exception):
                self._send_bytes(500, dumps({"fake_server_bug": traceback.format_exc()}), {})
            self.close_connection = True

    def _serve_request(self, owner: FakeProviderServer) -> None:
        # Handler objects live as long as a keep-alive connection: forget the previous request.
        self._record = self._wire = self._ctx = None
        target = urlsplit(self.path)
        segments = target.path.split("/", 2)
        provider_name = segments[1] if len(segments) > 1 else ""
        if provider_name not in PROVIDER_WIRES:
            self._read_body()
            self._serve_unprefixed(owner, target.path)
            return
        wire = PROVIDER_WIRES[provider_name]
        path = unquote("/" + (segments[2] if len(segments) > 2 else ""))
        body = self._read_body()
        query = dict(parse_qsl(target.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in self.headers.items()}
        parsed, body_ok = _parse_json(body)
        key, key_in_url = wire.extract_key(headers, query)
        key_in_url = key_in_url or _url_mentions_key(self.path, key, owner)

        route = wire.route(self.command, path)
        record = RecordedRequest(
            provider=provider_name,
            method=self.command,
            path=path,
            query=query,
            headers=headers,
            json=parsed,
            api_key=key,
            key_in_url=key_in_url,
            body=body,
            stream=route is not None and wire.is_stream(route, parsed),
        )
        self._record = record
        owner.requests.append(record)

        fault = owner._take_fault(provider_name)
        record.fault = fault.name if fault else None
        ctx = RequestContext(
            method=self.command,
            path=path,
            key=key,
            route=route,
            model=wire.request_model(route, parsed) if route else None,
            request_id=f"req_fake_{owner._next_id():08d}",
            retry_after=DEFAULT_RETRY_AFTER,
        )
        self._wire, self._ctx = wire, ctx

        owner._sleep(owner.latency)
        if fault is not None:
            if fault.name == "slow":
                owner._sleep(DEFAULT_SLOW_DELAY if fault.delay is None else fault.delay)
            elif fault.name == "reset":
                self._abort()
            elif fault.name in _ERROR_FAULTS:
                if fault.retry_after is not None:
                    ctx.retry_after = fault.retry_after
                kind = _ERROR_FAULTS[fault.name]
                if kind == "invalid_key" and not key:
                    kind = "missing_key"
                self._send_error(kind)
                return
        # These two only spoil an answer that would otherwise have succeeded.
        mode = fault.name if fault and fault.name in ("malformed", "stream_cut") else None

        if route is None:
            self._send_error("not_found")
            return
        if self.command == "POST" and not body_ok:
            self._send_error("bad_request")
            return
        if not key:
            self._send_error("missing_key")
            return
        key_config = owner._key_config(provider_name, key)
        if key_config is None:
            self._send_error("invalid_key")
            return
        if route.endpoint in ("chat", "count_tokens") and not ctx.model:
            self._send_error("bad_request")
            return
        if route.endpoint != "models" and not key_config.allows(ctx.model):
            self._send_error("model_not_found")
            return

        created = int(time.time())
        if route.endpoint == "models":
            if key_config.models is not None:
                listed = list(key_config.models)
            else:
                listed = list(owner.catalog[provider_name])
            self._send_json(wire.models_list(listed, created), mode)
        elif route.endpoint == "model":
            self._send_json(wire.model_info(_bare_model(ctx.model or ""), created), mode)
        elif route.endpoint == "count_tokens":
            self._send_json(wire.count_tokens(count_input_tokens(provider_name, parsed)), mode)
        elif key_config.quota_exhausted:
            self._send_error("quota")
        else:
            self._send_completion(owner, wire, provider_name, ctx, parsed, created, mode)

    def _serve_unprefixed(self, owner: FakeProviderServer, path: str) -> None:
        if path in ("/", "/_fake/health"):
            info = {"ok": True, "providers": {p: owner.url(p) for p in PROVIDERS}}
            self._send_bytes(200, dumps(info), {"Content-Type": "application/json"})
            return
        message = f"No provider at {path!r}; use one of /{', /'.join(PROVIDERS)}"
        self._send_bytes(404, dumps({"error": message}), {"Content-Type": "application/json"})

    # -- replies -----------------------------------------------------------------------------

    def _send_completion(
        self,
        owner: FakeProviderServer,
        wire: Provider,
        provider: str,
        ctx: RequestContext,
        body: Any,
        created: int,
        mode: str | None,
    ) -> None:
        text = owner.reply_for(provider, body)
        model = _bare_model(ctx.model or "")
        n = owner._next_id()
        response_id = {
            "anthropic": f"msg_fake{n:016d}",
            "openai": f"chatcmpl-fake{n:016d}",
            "mistral": f"{n:032x}",
            "google": f"fake-{n:016d}",
        }[provider]
        completion = Completion(
            model=model,
            text=text,
            deltas=split_deltas(text),
            usage=owner.usage_for(provider, body, text),
            response_id=response_id,
            created=created,
            body=body if isinstance(body, dict) else {},
        )
        if not self._record.stream:
            self._send_json(wire.completion(completion), mode)
            return
        if mode == "malformed":
            self._send_stream(wire.malformed_stream(completion), complete=True)
        elif mode == "stream_cut":
            parts: StreamParts = wire.stream(completion)
            self._send_stream([*parts.head, *parts.deltas[:2]], complete=False)
        else:
            parts = wire.stream(completion)
            self._send_stream([*parts.head, *parts.deltas, *parts.tail], complete=True)

    def _send_error(self, kind: str) -> None:
        reply: ErrorReply = self._wire.error(kind, self._ctx)
        headers = {"Content-Type": self._wire.json_content_type, **reply.headers}
        self._send_bytes(reply.status, dumps(reply.body), headers, reason=reply.reason)

    def _send_json(self, obj: Any, mode: str | None) -> None:
        headers = {"Content-Type": self._wire.json_content_type}
        if mode == "malformed":
            self._send_bytes(200, self._wire.malformed_body(), headers)
        elif mode == "stream_cut":
            # Announce the whole body, deliver half, hang up: a connection dropped mid-reply.
            payload = dumps(obj)
            self._start_response(200, {**headers, "Content-Length": str(len(payload))})
            self.wfile.write(payload[: len(payload) // 2])
            self.close_connection = True
        else:
            self._send_bytes(200, dumps(obj), headers)

    def _send_stream(self, events: list[bytes], *, complete: bool) -> None:
        owner = self.server.owner
        self._start_response(
            200,
            {
                "Content-Type": self._wire.sse_content_type,
                "Cache-Control": "no-cache",
                "Transfer-Encoding": "chunked",
            },
        )
        for i, event in enumerate(events):
            if i and owner.chunk_delay:
                owner._sleep(owner.chunk_delay)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
        if complete:
            self.wfile.write(b"0\r\n\r\n")
        else:
            # No terminating chunk: the client sees the body end before it was complete.
            self.close_connection = True

    def _start_response(self, status: int, headers: dict[str, str], reason: str | None = None):
        record = getattr(self, "_record", None)
        if record is not None:
            record.status = status
        self.send_response(status, reason)
        ctx = getattr(self, "_ctx", None)
        wire = getattr(self, "_wire", None)
        if ctx is not None and wire is not None and wire.request_id_header:
            self.send_header(wire.request_id_header, ctx.request_id)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _send_bytes(
        self, status: int, payload: bytes, headers: dict[str, str], reason: str | None = None
    ) -> None:
        self._start_response(status, {**headers, "Content-Length": str(len(payload))}, reason)
        self.wfile.write(payload)

    def _abort(self) -> None:
        """Drop the connection with a TCP RST and no response at all."""
        self.close_connection = True
        conn = self.connection
        with contextlib.suppress(OSError):
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # rfile holds a reference to the socket; the RST only goes out once the last one closes.
        with contextlib.suppress(OSError):
            self.rfile.close()
        with contextlib.suppress(OSError):
            conn.close()
        raise _AbortConnection

    # -- request body ------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""


def _parse_json(body: bytes) -> tuple[Any, bool]:
    if not body:
        return None, True
    try:
        return json.loads(body), True
    except ValueError:
        return None, False


def _url_mentions_key(raw_target: str, key: str | None, owner: FakeProviderServer) -> bool:
    target = unquote(raw_target)
    # Any provider's key in the URL is a leak, even one that is not used for auth. Very short
    # test keys are skipped: they would match by accident.
    candidates = [key] if key else []
    candidates += owner._all_keys()
    return any(len(k) >= 8 and k in target for k in candidates)


__all__ = [
    "DEFAULT_KEYS",
    "DEFAULT_MODELS",
    "DEFAULT_REPLY_TEXT",
    "FAULTS",
    "FakeProviderServer",
    "KeyConfig",
    "RecordedRequest",
]
