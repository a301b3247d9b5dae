"""Anthropic Messages API on the official `anthropic` SDK (which runs on httpx2)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic

from conversations.providers.base import (
    MALFORMED,
    BadRequest,
    FinishReason,
    ProviderError,
    ProviderTimeout,
    QuotaExhausted,
    RateLimited,
    SdkAdapter,
    StreamState,
    TokenUsage,
    Unavailable,
)

_FINISH_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
}

# Error types Anthropic sends in the body, which also arrive as an `error` event mid-stream where
# the HTTP status is still 200.
_ERROR_TYPES: dict[str, type[ProviderError]] = {
    "rate_limit_error": RateLimited,
    "overloaded_error": Unavailable,
    "api_error": Unavailable,
    "request_too_large": BadRequest,
}


class AnthropicAdapter(SdkAdapter):
    name = "anthropic"
    label = "Anthropic"
    default_base_url = "https://api.anthropic.com"

    def _client(self, api_key: str) -> anthropic.AsyncAnthropic:
        # base_url is always explicit so ANTHROPIC_BASE_URL and profile files are never consulted.
        return anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=self.base_url,
            http_client=self.pools.client(),
            timeout=self.pools.timeout,
            max_retries=0,
        )

    async def _deltas(self, state: StreamState, api_key: str) -> AsyncIterator[str]:
        request = state.request
        params: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_output_tokens,
            "messages": [{"role": m.role, "content": m.text} for m in request.messages],
        }
        if request.system:
            params["system"] = request.system
        if request.temperature is not None:
            params["temperature"] = request.temperature
        client = self._client(api_key)
        events = await client.messages.create(**params, stream=True)
        async with events:
            async for event in events:
                if event.type == "message_start":
                    state.response_id = event.message.id
                    state.model = event.message.model
                    state.usage = _usage(event.message.usage)
                elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                    yield event.delta.text
                elif event.type == "message_delta":
                    state.usage = _usage(event.usage, previous=state.usage)
                    if event.delta.stop_reason:
                        stop_reason = event.delta.stop_reason
                        state.finish_reason = _FINISH_REASONS.get(stop_reason, "other")

    def _sdk_error(self, exc: Exception, api_key: str) -> ProviderError | None:
        if isinstance(exc, anthropic.APITimeoutError):
            return self._status_error(None, exc.message, api_key, error_class=ProviderTimeout)
        if isinstance(exc, anthropic.APIConnectionError):
            return self._status_error(None, exc.message, api_key, error_class=Unavailable)
        if isinstance(exc, anthropic.APIStatusError):
            return self._status_error(
                exc.status_code if exc.status_code >= 400 else None,
                exc.api_message or exc.message,
                api_key,
                headers=exc.response.headers,
                error_class=_error_class(exc),
            )
        if isinstance(exc, anthropic.APIResponseValidationError):
            return self._status_error(None, MALFORMED, api_key, error_class=Unavailable)
        return None


def _error_class(exc: anthropic.APIStatusError) -> type[ProviderError] | None:
    # Anthropic reports an empty prepaid balance as a 400 invalid_request_error.
    if exc.type == "billing_error" or "credit balance" in (exc.api_message or "").lower():
        return QuotaExhausted
    if exc.status_code < 400:
        return _ERROR_TYPES.get(exc.type or "", Unavailable)
    return None


def _usage(reported: Any, previous: TokenUsage | None = None) -> TokenUsage:
    """message_start carries the input side; message_delta's counts are cumulative and may omit
    the input side, so missing fields keep their earlier value."""
    previous = previous or TokenUsage()

    def count(field: str, fallback: int) -> int:
        value = getattr(reported, field, None)
        return fallback if value is None else value

    return TokenUsage(
        input_tokens=count("input_tokens", previous.input_tokens),
        cached_input_tokens=count("cache_read_input_tokens", previous.cached_input_tokens),
        cache_write_tokens=count("cache_creation_input_tokens", previous.cache_write_tokens),
        output_tokens=count("output_tokens", previous.output_tokens),
    )
