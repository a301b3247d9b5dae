"""Mistral chat completions on the official `mistralai` SDK (v2+: `mistralai.client`, on httpx2)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from mistralai.client import Mistral
from mistralai.client import errors as mistral_errors
from mistralai.client.utils.logger import NoOpLogger

from conversations.providers.base import (
    MALFORMED,
    FinishReason,
    PermissionDenied,
    ProviderError,
    QuotaExhausted,
    SdkAdapter,
    StreamState,
    TokenUsage,
    Unavailable,
    provider_error,
    sync_placeholder_client,
)

_FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "model_length": "length",
}
# Mistral answers an unknown model with 400 and a used-up monthly limit with 429; the error type
# tells them from a malformed request and a rate limit.
_ERROR_TYPES: dict[str, type[ProviderError]] = {
    "invalid_model": PermissionDenied,
    "usage_limit_exceeded": QuotaExhausted,
}
# MISTRAL_DEBUG would otherwise make the SDK log every request's headers, Authorization included.
_NO_LOG = NoOpLogger()


class MistralAdapter(SdkAdapter):
    name = "mistral"
    label = "Mistral"
    default_base_url = "https://api.mistral.ai"

    def _client(self, api_key: str) -> Mistral:
        # Without a sync client the SDK builds one per construction (~30 ms). retry_config=None
        # turns its retries off; UNSET would let each method pick its default.
        return Mistral(
            api_key=api_key,
            server_url=self.base_url,
            async_client=self.pools.client(),
            client=sync_placeholder_client(),
            retry_config=None,
            debug_logger=_NO_LOG,
        )

    async def _deltas(self, state: StreamState, api_key: str) -> AsyncIterator[str]:
        request = state.request
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [{"role": m.role, "content": m.text} for m in request.messages]
        params: dict[str, Any] = {
            "model": request.model,
            "messages": messages,
            "max_tokens": request.max_output_tokens,
        }
        if request.temperature is not None:
            params["temperature"] = request.temperature
        # The SDK object must outlive the stream: its finalizer detaches the HTTP clients.
        client = self._client(api_key)
        events = await client.chat.stream_async(**params)
        async with events:
            async for event in events:
                chunk = event.data
                state.response_id = state.response_id or chunk.id
                state.model = state.model or chunk.model
                if chunk.usage is not None:
                    state.usage = _usage(chunk.usage)
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                for text in _texts(choice.delta.content):
                    yield text
                if choice.finish_reason == "error":
                    raise provider_error(
                        Unavailable,
                        label=self.label,
                        detail="generation failed",
                        api_key=api_key,
                        provider=self.name,
                    )
                if choice.finish_reason:
                    state.finish_reason = _FINISH_REASONS.get(choice.finish_reason, "other")

    def _sdk_error(self, exc: Exception, api_key: str) -> ProviderError | None:
        if isinstance(exc, mistral_errors.NoResponseError):
            return self._status_error(None, exc.message, api_key, error_class=Unavailable)
        if isinstance(exc, mistral_errors.ResponseValidationError):
            return self._status_error(None, MALFORMED, api_key, error_class=Unavailable)
        if not isinstance(exc, mistral_errors.MistralError):
            return None
        error_type, detail = _type_and_detail(exc.body)
        return self._status_error(
            exc.status_code,
            detail or exc.message,
            api_key,
            headers=exc.headers,
            error_class=_ERROR_TYPES.get(error_type or ""),
        )


def _texts(content: Any) -> list[str]:
    """Delta content is a string, or a list of chunks for models that also stream thinking."""
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [c.text for c in content if getattr(c, "type", None) == "text" and c.text]
    return []


def _type_and_detail(body: str | None) -> tuple[str | None, str | None]:
    """Mistral's API errors are {"object": "error", "type", "message"}; its gateway's are
    {"detail": "Unauthorized"}."""
    if not body:
        return None, None
    try:
        parsed = json.loads(body)
    except ValueError:
        return None, body
    if not isinstance(parsed, Mapping):
        return None, body
    error_type = parsed.get("type") if isinstance(parsed.get("type"), str) else None
    message = parsed.get("message") or parsed.get("detail")
    if message is None:
        return error_type, body
    return error_type, message if isinstance(message, str) else json.dumps(message)


def _usage(reported: Any) -> TokenUsage:
    extra = reported.additional_properties or {}
    details = extra.get("prompt_tokens_details") or {}
    cached = (details.get("cached_tokens") if isinstance(details, Mapping) else 0) or 0
    prompt = reported.prompt_tokens or 0
    return TokenUsage(
        input_tokens=max(0, prompt - cached),
        cached_input_tokens=cached,
        output_tokens=reported.completion_tokens or 0,
    )
