"""The provider contract: frozen dataclasses in and out, one error taxonomy, the adapter interface.

Nothing here knows about Django. An adapter receives the API key per call and keeps it only in local
variables of that call; the SDK client object built for the call is dropped when the call ends.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import dataclasses
import email.utils
import functools
import logging
import math
import threading
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from typing import ClassVar, Literal

import httpx2

from byok.redaction import redact

logger = logging.getLogger(__name__)

Role = Literal["user", "assistant"]
KeyStatus = Literal["valid", "invalid", "permission_denied", "quota_exhausted", "unreachable"]
# One vocabulary for every provider, so the engine can tell a truncated answer from a finished one.
FinishReason = Literal["stop", "length", "content_filter", "other"]


@dataclasses.dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    system: str
    messages: tuple[ChatMessage, ...]
    max_output_tokens: int = 1024
    temperature: float | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class TokenUsage:
    """Token classes that never overlap, each billed at its own price.

    `input_tokens` excludes cache reads (`cached_input_tokens`) and cache writes
    (`cache_write_tokens`); `output_tokens` includes reasoning/thinking tokens.
    """

    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class ChatResult:
    text: str
    usage: TokenUsage
    response_id: str | None
    model: str
    finish_reason: FinishReason


@dataclasses.dataclass(frozen=True, slots=True)
class KeyCheck:
    status: KeyStatus
    message: str


@dataclasses.dataclass(frozen=True, slots=True)
class ProviderConfig:
    base_url: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 60.0


# --- errors ---------------------------------------------------------------------------------------


class ProviderError(Exception):
    """A provider call failed. `message` is plain words for a person, already scrubbed of secrets."""

    kind: ClassVar[str] = "unavailable"
    default_retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        usage: TokenUsage | None = None,
        provider: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after
        self.usage = usage
        self.provider = provider
        self.retryable = self.default_retryable

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status_code={self.status_code!r})"


class InvalidKey(ProviderError):
    kind = "invalid_key"


class PermissionDenied(ProviderError):
    kind = "permission_denied"


class QuotaExhausted(ProviderError):
    kind = "quota_exhausted"


class RateLimited(ProviderError):
    kind = "rate_limited"
    default_retryable = True


class Unavailable(ProviderError):
    kind = "unavailable"
    default_retryable = True


class ProviderTimeout(ProviderError):
    kind = "timeout"
    default_retryable = True


class BadRequest(ProviderError):
    kind = "bad_request"


_SUMMARIES: dict[type[ProviderError], str] = {
    InvalidKey: "{label} rejected the API key.",
    PermissionDenied: "{label} refused this API key access to the model.",
    QuotaExhausted: "The {label} account behind this API key has no quota or credit left.",
    RateLimited: "{label} is rate limiting this API key.",
    Unavailable: "{label} is temporarily unavailable.",
    ProviderTimeout: "{label} did not answer in time.",
    BadRequest: "{label} refused the request.",
}
_DETAIL_LIMIT = 300
MALFORMED = "the reply could not be read"


def provider_error(
    error_class: type[ProviderError],
    *,
    label: str,
    detail: str | None,
    api_key: str,
    status_code: int | None = None,
    retry_after: float | None = None,
    usage: TokenUsage | None = None,
    provider: str | None = None,
) -> ProviderError:
    """Builds an error whose message is a plain summary plus the provider's own words, scrubbed."""
    message = _SUMMARIES[error_class].format(label=label)
    if detail:
        # Redact before truncating: a cut key would no longer match the exact-secret rule.
        scrubbed = " ".join(redact(str(detail), api_key).split())
        if len(scrubbed) > _DETAIL_LIMIT:
            scrubbed = scrubbed[: _DETAIL_LIMIT - 1] + "…"
        message = f"{message} Details: {scrubbed}"
    return error_class(
        message,
        status_code=status_code,
        retry_after=retry_after,
        usage=usage,
        provider=provider,
    )


def error_class_for_status(status_code: int) -> type[ProviderError]:
    """The taxonomy's default reading of an HTTP status; adapters refine it with the error body."""
    if status_code == 401:
        return InvalidKey
    if status_code == 402:
        return QuotaExhausted
    if status_code in (403, 404):
        # 404 on a generation endpoint means the model does not exist for this key.
        return PermissionDenied
    if status_code == 408:
        return ProviderTimeout
    if status_code == 429:
        return RateLimited
    if 400 <= status_code < 500:
        return BadRequest
    return Unavailable


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from `retry-after-ms` or `retry-after` (seconds or an HTTP date)."""
    if not headers:
        return None
    with contextlib.suppress(TypeError, ValueError):
        if (value := headers.get("retry-after-ms")) is not None:
            return max(0.0, float(value) / 1000)
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    with contextlib.suppress(TypeError, ValueError):
        moment = email.utils.parsedate_to_datetime(value)
        return max(0.0, moment.timestamp() - time.time())
    return None


def transport_error(
    exc: Exception, *, label: str, api_key: str, provider: str
) -> ProviderError | None:
    """Maps the httpx2 exceptions that some SDKs let through unwrapped (google-genai, mistralai,
    and openai while reading a stream body)."""
    if isinstance(exc, httpx2.TimeoutException):
        error_class: type[ProviderError] = ProviderTimeout
        detail = f"timed out ({type(exc).__name__})"
    elif isinstance(exc, httpx2.TransportError | httpx2.StreamError):
        error_class = Unavailable
        detail = f"connection failed ({type(exc).__name__})"
    else:
        return None
    # Only the class name: an httpx error's text can quote the request URL and its query.
    return provider_error(
        error_class, label=label, detail=detail, api_key=api_key, provider=provider
    )


# --- token estimates (fallback only) --------------------------------------------------------------

# About four characters per token for English text, the rule of thumb all four providers document.
_CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / _CHARS_PER_TOKEN) if text else 0


def estimate_input_tokens(request: ChatRequest) -> int:
    return estimate_tokens(request.system) + sum(estimate_tokens(m.text) for m in request.messages)


# --- shared connection pools ----------------------------------------------------------------------


class _ClientTimeoutsAsyncClient(httpx2.AsyncClient):
    """Sends every request with the pool's own connect/read timeouts.

    google-genai passes `timeout=None` per request (meaning no timeout at all) unless
    HttpOptions.timeout is set, and then one number for every phase; mistralai passes 300 s.
    Either would override the configured connect/read split.
    """

    def build_request(self, *args, **kwargs) -> httpx2.Request:
        kwargs["timeout"] = httpx2.USE_CLIENT_DEFAULT
        return super().build_request(*args, **kwargs)


# Sized for hundreds of replies in flight per process: a slow provider holds a connection for the
# whole reply, and a pool wait would add to the visitor's wait.
_LIMITS = httpx2.Limits(max_connections=1024, max_keepalive_connections=128, keepalive_expiry=30.0)


class ConnectionPools:
    """One httpx2.AsyncClient per running event loop, for one provider.

    A pooled connection belongs to the loop that opened it, and tests, Celery tasks and
    `async_to_sync` run several loops. Entries of closed loops are dropped on each lookup: the client
    keeps a reference to its loop through open sockets, so a weak key alone would never expire.
    """

    def __init__(self, config: ProviderConfig) -> None:
        self.timeout = httpx2.Timeout(config.read_timeout, connect=config.connect_timeout)
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx2.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def client(self) -> httpx2.AsyncClient:
        loop = asyncio.get_running_loop()
        with self._lock:
            for stale in [known for known in self._clients if known.is_closed()]:
                del self._clients[stale]
            client = self._clients.get(loop)
            if client is None or client.is_closed:
                # Redirects are not followed: httpx only strips `Authorization` across origins,
                # not x-api-key or x-goog-api-key.
                client = _ClientTimeoutsAsyncClient(
                    timeout=self.timeout, limits=_LIMITS, follow_redirects=False
                )
                self._clients[loop] = client
            return client

    async def aclose(self) -> None:
        """Closes the running loop's client (shutdown and tests)."""
        with self._lock:
            client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()


@functools.cache
def sync_placeholder_client() -> httpx2.Client:
    """A process-wide sync client for SDKs that build one per client object when none is given
    (google-genai, mistralai); about 30 ms each time. ChatDirect never sends through it."""
    return httpx2.Client(
        timeout=httpx2.Timeout(60.0, connect=5.0),
        limits=httpx2.Limits(max_connections=1),
        follow_redirects=False,
    )


# --- adapters -------------------------------------------------------------------------------------


class ChatAdapter(abc.ABC):
    """One provider. Process-wide and shared: it must never hold an API key."""

    name: ClassVar[str]
    label: ClassVar[str]

    @abc.abstractmethod
    def stream(
        self, request: ChatRequest, *, api_key: str
    ) -> AsyncIterator[TextDelta | ChatResult]:
        """Yields text deltas, then exactly one ChatResult. Raises ProviderError."""

    async def complete(self, request: ChatRequest, *, api_key: str) -> ChatResult:
        async with contextlib.aclosing(self.stream(request, api_key=api_key)) as events:
            async for event in events:
                if isinstance(event, ChatResult):
                    return event
        raise Unavailable(f"{self.label} ended the reply without a result.", provider=self.name)

    async def validate_key(self, api_key: str, model: str) -> KeyCheck:
        """A one-token generation on `model`: the cheapest call that proves key, model and quota."""
        probe = ChatRequest(
            model=model,
            system="",
            messages=(ChatMessage(role="user", text="Hi"),),
            max_output_tokens=1,
        )
        try:
            await self.complete(probe, api_key=api_key)
        except ProviderError as error:
            return KeyCheck(
                status=_KEY_STATUS.get(type(error), "unreachable"), message=error.message
            )
        return KeyCheck(status="valid", message=f"{self.label} accepted the key for {model}.")


# A 400 proves the key authenticated but not that the model can be used with it; the customer's
# fix is the same as for a refused model, so it reads as permission_denied.
_KEY_STATUS: dict[type[ProviderError], KeyStatus] = {
    InvalidKey: "invalid",
    PermissionDenied: "permission_denied",
    BadRequest: "permission_denied",
    QuotaExhausted: "quota_exhausted",
}


@dataclasses.dataclass(repr=False)
class StreamState:
    """What one streamed reply has produced so far; adapters fill it from provider events."""

    request: ChatRequest
    parts: list[str] = dataclasses.field(default_factory=list)
    usage: TokenUsage | None = None
    response_id: str | None = None
    model: str | None = None
    finish_reason: FinishReason | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def partial_usage(self) -> TokenUsage | None:
        """Tokens consumed by a reply that failed part way; None when nothing was generated."""
        if not self.parts:
            return self.usage
        reported = self.usage or TokenUsage(input_tokens=estimate_input_tokens(self.request))
        estimated_output = estimate_tokens(self.text)
        return dataclasses.replace(
            reported, output_tokens=max(reported.output_tokens, estimated_output)
        )

    def result(self) -> ChatResult:
        # Some OpenAI-compatible proxies drop the usage chunk; an estimate beats billing zero.
        usage = self.usage or TokenUsage(
            input_tokens=estimate_input_tokens(self.request),
            output_tokens=estimate_tokens(self.text),
        )
        return ChatResult(
            text=self.text,
            usage=usage,
            response_id=self.response_id,
            model=self.model or self.request.model,
            finish_reason=self.finish_reason or "other",
        )


class SdkAdapter(ChatAdapter):
    """Shared shape of the four SDK adapters: a pool per loop, one SDK client per call, and every
    failure mapped onto the taxonomy and scrubbed before it leaves."""

    default_base_url: ClassVar[str]

    def __init__(self, config: ProviderConfig | None = None) -> None:
        self.config = config or ProviderConfig()
        self.base_url = self.config.base_url or self.default_base_url
        self.pools = ConnectionPools(self.config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} base_url={self.base_url!r}>"

    @abc.abstractmethod
    def _deltas(self, state: StreamState, api_key: str) -> AsyncIterator[str]:
        """Opens the provider stream, yields text pieces and records usage etc. in `state`; it must
        leave `state.finish_reason` set only when the provider said the reply is complete."""

    @abc.abstractmethod
    def _sdk_error(self, exc: Exception, api_key: str) -> ProviderError | None:
        """Maps one of the SDK's own exceptions, or returns None."""

    async def stream(
        self, request: ChatRequest, *, api_key: str
    ) -> AsyncIterator[TextDelta | ChatResult]:
        self._require_key(api_key)
        state = StreamState(request=request)
        failure: ProviderError | None = None
        try:
            async with contextlib.aclosing(self._deltas(state, api_key)) as pieces:
                async for piece in pieces:
                    if piece:
                        state.parts.append(piece)
                        yield TextDelta(piece)
        except Exception as exc:  # noqa: BLE001 - every failure must leave as a ProviderError
            failure = self._map_error(exc, api_key)
        if failure is None and state.finish_reason is None:
            failure = provider_error(
                Unavailable,
                label=self.label,
                detail="the reply stream ended before it was complete",
                api_key=api_key,
                provider=self.name,
            )
        # Raised outside the except block so that the SDK exception, which holds the request and its
        # headers, is neither the cause nor the context of what the caller sees.
        if failure is not None:
            failure.usage = state.partial_usage()
            raise failure
        yield state.result()

    def _require_key(self, api_key: str) -> None:
        # An empty key would make the SDKs fall back to ANTHROPIC_API_KEY, GEMINI_API_KEY, ... from
        # the environment, which hold ChatDirect's own pooled keys.
        if not isinstance(api_key, str) or not api_key.strip():
            raise InvalidKey(f"No {self.label} API key was provided.", provider=self.name)

    def _map_error(self, exc: Exception, api_key: str) -> ProviderError:
        if isinstance(exc, ProviderError):
            return exc
        mapped = self._sdk_error(exc, api_key) or transport_error(
            exc, label=self.label, api_key=api_key, provider=self.name
        )
        if mapped is not None:
            return mapped
        # Malformed JSON or an unexpected shape; anything else is logged with its traceback too.
        logger.warning(
            "Unexpected %s from the %s adapter: %s",
            type(exc).__name__,
            self.name,
            redact(str(exc), api_key),
            exc_info=not isinstance(exc, ValueError),
        )
        return provider_error(
            Unavailable,
            label=self.label,
            detail=MALFORMED,
            api_key=api_key,
            provider=self.name,
        )

    def _status_error(
        self,
        status_code: int | None,
        detail: str | None,
        api_key: str,
        *,
        headers: Mapping[str, str] | None = None,
        error_class: type[ProviderError] | None = None,
    ) -> ProviderError:
        """`status_code` is None for failures without an HTTP error status (connection errors,
        timeouts, error events inside a 200 stream); those must name their `error_class`."""
        if error_class is None:
            error_class = error_class_for_status(status_code) if status_code else Unavailable
        return provider_error(
            error_class,
            label=self.label,
            detail=detail,
            api_key=api_key,
            status_code=status_code,
            retry_after=parse_retry_after(headers),
            provider=self.name,
        )
