"""ChatDirect's one retry policy for provider calls (the SDKs' own retries are switched off).

Exponential backoff with full jitter; a provider's Retry-After is honoured up to `max_delay`, and a
longer one is surfaced instead of waited for, since a visitor is waiting. A stream is never retried
once a delta has reached the caller: the visitor would see the reply start twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from conversations.providers.base import (
    ChatAdapter,
    ChatRequest,
    ChatResult,
    ProviderError,
    TextDelta,
    Unavailable,
)


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 3
    base_delay: float = 0.25
    max_delay: float = 4.0
    jitter: bool = True

    def backoff(self, failed_attempt: int) -> float:
        ceiling = min(self.max_delay, self.base_delay * 2 ** (failed_attempt - 1))
        return random.uniform(0, ceiling) if self.jitter else ceiling

    def delay_before_retry(self, error: ProviderError, failed_attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None when the error must be surfaced."""
        if not error.retryable or failed_attempt >= self.max_attempts:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_delay else None
        return self.backoff(failed_attempt)


@dataclasses.dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """One provider attempt, for the ledger: exactly one of `result` and `error` is set."""

    attempt_number: int
    result: ChatResult | None
    error: ProviderError | None
    duration_ms: int


OnAttempt = Callable[[AttemptOutcome], None] | Callable[[AttemptOutcome], Awaitable[None]]
Sleep = Callable[[float], Awaitable[object]]


async def stream_with_retries(
    adapter: ChatAdapter,
    request: ChatRequest,
    *,
    api_key: str,
    policy: RetryPolicy | None = None,
    on_attempt: OnAttempt | None = None,
    sleep: Sleep = asyncio.sleep,
) -> AsyncIterator[TextDelta | ChatResult]:
    """Yields what `adapter.stream` yields, retrying failed attempts that are safe to retry.

    `on_attempt` is called once per attempt, before the final ChatResult is yielded or the error
    raised, so the ledger row exists even if the caller stops reading at the result.
    """
    policy = policy or RetryPolicy()
    attempt = 0
    while True:
        attempt += 1
        started = time.monotonic()
        delivered = False
        try:
            async with contextlib.aclosing(adapter.stream(request, api_key=api_key)) as events:
                async for event in events:
                    if isinstance(event, ChatResult):
                        await _report(on_attempt, attempt, started, result=event)
                        yield event
                        return
                    delivered = True
                    yield event
        except ProviderError as error:
            await _report(on_attempt, attempt, started, error=error)
            delay = None if delivered else policy.delay_before_retry(error, attempt)
            if delay is None:
                raise
        else:
            error = Unavailable(
                f"{adapter.label} ended the reply without a result.", provider=adapter.name
            )
            await _report(on_attempt, attempt, started, error=error)
            raise error
        await sleep(delay)


async def _report(
    on_attempt: OnAttempt | None,
    attempt: int,
    started: float,
    *,
    result: ChatResult | None = None,
    error: ProviderError | None = None,
) -> None:
    if on_attempt is None:
        return
    duration_ms = round((time.monotonic() - started) * 1000)
    outcome = AttemptOutcome(attempt, result=result, error=error, duration_ms=duration_ms)
    returned = on_attempt(outcome)
    if inspect.isawaitable(returned):
        await returned
