"""OpenAI Chat Completions on the official `openai` SDK (which runs on httpx2).

Chat Completions rather than Responses: it is the API that proxies and OpenAI-compatible
endpoints (a configurable base URL) speak too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import openai

from conversations.providers.base import (
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
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
}


class OpenAIAdapter(SdkAdapter):
    name = "openai"
    label = "OpenAI"
    default_base_url = "https://api.openai.com/v1"

    def _client(self, api_key: str) -> openai.AsyncOpenAI:
        # base_url is always explicit so OPENAI_BASE_URL is never consulted.
        return openai.AsyncOpenAI(
            api_key=api_key,
            base_url=self.base_url,
            http_client=self.pools.client(),
            timeout=self.pools.timeout,
            max_retries=0,
        )

    async def _deltas(self, state: StreamState, api_key: str) -> AsyncIterator[str]:
        request = state.request
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [{"role": m.role, "content": m.text} for m in request.messages]
        params: dict[str, Any] = {
            "model": request.model,
            "messages": messages,
            # max_tokens is refused by reasoning models; max_completion_tokens works for all.
            "max_completion_tokens": request.max_output_tokens,
            "stream_options": {"include_usage": True},
        }
        if request.temperature is not None:
            params["temperature"] = request.temperature
        client = self._client(api_key)
        chunks = await client.chat.completions.create(**params, stream=True)
        async with chunks:
            async for chunk in chunks:
                state.response_id = state.response_id or chunk.id
                state.model = state.model or chunk.model
                if chunk.usage is not None:
                    state.usage = _usage(chunk.usage)
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                if choice.delta is not None and choice.delta.content:
                    yield choice.delta.content
                if choice.finish_reason:
                    state.finish_reason = _FINISH_REASONS.get(choice.finish_reason, "other")

    def _sdk_error(self, exc: Exception, api_key: str) -> ProviderError | None:
        if isinstance(exc, openai.APITimeoutError):
            return self._status_error(None, exc.message, api_key, error_class=ProviderTimeout)
        if isinstance(exc, openai.APIConnectionError):
            return self._status_error(None, exc.message, api_key, error_class=Unavailable)
        if isinstance(exc, openai.APIStatusError):
            return self._status_error(
                exc.status_code,
                _detail(exc),
                api_key,
                headers=exc.response.headers,
                error_class=_error_class(exc),
            )
        if isinstance(exc, openai.APIError):
            # An error object inside a 200 stream, or a response the SDK could not validate.
            return self._status_error(
                None, _detail(exc), api_key, error_class=_error_class(exc) or Unavailable
            )
        return None


def _error_class(exc: openai.APIError) -> type[ProviderError] | None:
    # OpenAI answers 429 both for a rate limit and for an account without credit.
    if exc.code == "insufficient_quota":
        return QuotaExhausted
    if exc.code in ("rate_limit_exceeded", "rate_limit_error"):
        return RateLimited
    return None


def _detail(exc: openai.APIError) -> str:
    if isinstance(exc.body, Mapping) and isinstance(exc.body.get("message"), str):
        return exc.body["message"]
    return exc.message


def _usage(reported: Any) -> TokenUsage:
    details = reported.prompt_tokens_details
    cached = (details.cached_tokens or 0) if details else 0
    written = (getattr(details, "cache_write_tokens", None) or 0) if details else 0
    return TokenUsage(
        input_tokens=max(0, (reported.prompt_tokens or 0) - cached - written),
        cached_input_tokens=cached,
        cache_write_tokens=written,
        output_tokens=reported.completion_tokens or 0,
    )
