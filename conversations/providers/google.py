"""Gemini API on Google's current SDK, `google-genai` (google-generativeai is deprecated).

The SDK sends the key in the `x-goog-api-key` header. A `genai.Client` builds two httpx clients and
two SSL contexts unless it is handed its own; handing it the shared pool, a shared sync client and
a shared websocket SSL context brings construction from ~60 ms to ~0.2 ms per call.
"""

from __future__ import annotations

import functools
import re
import ssl
from collections.abc import AsyncIterator, Mapping
from typing import Any

from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from conversations.providers.base import (
    MALFORMED,
    FinishReason,
    InvalidKey,
    ProviderError,
    QuotaExhausted,
    SdkAdapter,
    StreamState,
    TokenUsage,
    Unavailable,
    sync_placeholder_client,
)

_FINISH_REASONS: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "MODEL_ARMOR": "content_filter",
}
_SECONDS = re.compile(r"^(\d+(?:\.\d+)?)s$")


@functools.cache
def _websocket_ssl_context() -> ssl.SSLContext:
    # Only the Live API (websockets) uses it, and ChatDirect does not; without one the SDK loads
    # the CA bundle on every client construction.
    return ssl.create_default_context()


class GoogleAdapter(SdkAdapter):
    name = "google"
    label = "Google"
    default_base_url = "https://generativelanguage.googleapis.com/"

    def _client(self, api_key: str) -> genai.Client:
        options = genai_types.HttpOptions(
            base_url=self.base_url,
            httpx_async_client=self.pools.client(),
            httpx_client=sync_placeholder_client(),
            async_client_args={"ssl": _websocket_ssl_context()},
            # retry_options stays None: the SDK then makes exactly one attempt.
        )
        # vertexai=False explicitly, so GOOGLE_GENAI_USE_VERTEXAI cannot reroute the call.
        return genai.Client(api_key=api_key, vertexai=False, http_options=options)

    async def _deltas(self, state: StreamState, api_key: str) -> AsyncIterator[str]:
        request = state.request
        config = genai_types.GenerateContentConfig(
            system_instruction=request.system or None,
            max_output_tokens=request.max_output_tokens,
            temperature=request.temperature,
            automatic_function_calling=genai_types.AutomaticFunctionCallingConfig(disable=True),
            # Continuation would send follow-up requests (and reconnect after a dropped stream)
            # inside one call; ChatDirect's retry policy owns every extra request.
            automatic_continuation=False,
        )
        contents = [
            genai_types.Content(
                role="user" if m.role == "user" else "model", parts=[genai_types.Part(text=m.text)]
            )
            for m in request.messages
        ]
        client = self._client(api_key)
        chunks = await client.aio.models.generate_content_stream(
            model=request.model, contents=contents, config=config
        )
        async for chunk in chunks:
            state.response_id = state.response_id or chunk.response_id
            state.model = state.model or chunk.model_version
            if chunk.usage_metadata is not None:
                # Each chunk's usage is the running total of this request, not an increment.
                state.usage = _usage(chunk.usage_metadata)
            if chunk.prompt_feedback is not None and chunk.prompt_feedback.block_reason:
                state.finish_reason = "content_filter"
            if not chunk.candidates:
                continue
            candidate = chunk.candidates[0]
            parts = (candidate.content.parts if candidate.content else None) or []
            for part in parts:
                # Thought summaries are the model's reasoning, not part of the reply.
                if part.text and not part.thought:
                    yield part.text
            if candidate.finish_reason:
                reason = getattr(candidate.finish_reason, "value", candidate.finish_reason)
                state.finish_reason = _FINISH_REASONS.get(str(reason), "other")

    def _sdk_error(self, exc: Exception, api_key: str) -> ProviderError | None:
        if isinstance(exc, genai_errors.UnknownApiResponseError):
            return self._status_error(None, MALFORMED, api_key, error_class=Unavailable)
        if not isinstance(exc, genai_errors.APIError):
            return None
        status_code = exc.code if isinstance(exc.code, int) and exc.code >= 400 else None
        headers = getattr(exc.response, "headers", None)
        headers = headers if isinstance(headers, Mapping) else None
        error = self._status_error(
            status_code,
            exc.message or exc.status,
            api_key,
            headers=headers,
            error_class=_error_class(exc),
        )
        if error.retry_after is None:
            error.retry_after = _retry_delay(exc.details)
        if error.kind == "rate_limited" and _is_quota_exhausted(exc, error.retry_after):
            error = self._status_error(
                status_code, exc.message, api_key, headers=headers, error_class=QuotaExhausted
            )
        return error


def _error_class(exc: genai_errors.APIError) -> type[ProviderError] | None:
    # Gemini answers a bad key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID.
    reasons = _detail_values(exc.details, "reason")
    if "API_KEY_INVALID" in reasons or (
        exc.code == 400 and "api key" in (exc.message or "").lower()
    ):
        return InvalidKey
    return None


def _is_quota_exhausted(exc: genai_errors.APIError, retry_after: float | None) -> bool:
    """429 RESOURCE_EXHAUSTED covers both a per-minute limit and a used-up allowance. A per-day
    quota or a limit of 0 (no free tier for this model) will not recover by retrying soon; a
    transient limit comes with a RetryInfo delay."""
    message = (exc.message or "").lower()
    if any("PerDay" in quota_id for quota_id in _detail_values(exc.details, "quotaId")):
        return True
    return "limit: 0" in message or ("billing" in message and retry_after is None)


def _detail_values(details: Any, field: str) -> list[str]:
    """Values of `field` anywhere in the google.rpc error details (ErrorInfo, QuotaFailure...)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key == field and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(details)
    return found


def _retry_delay(details: Any) -> float | None:
    """google.rpc.RetryInfo's retryDelay, such as "23s"."""
    for value in _detail_values(details, "retryDelay"):
        if match := _SECONDS.match(value):
            return float(match.group(1))
    return None


def _usage(reported: Any) -> TokenUsage:
    prompt = (reported.prompt_token_count or 0) + (reported.tool_use_prompt_token_count or 0)
    cached = reported.cached_content_token_count or 0
    return TokenUsage(
        input_tokens=max(0, prompt - cached),
        cached_input_tokens=cached,
        output_tokens=(reported.candidates_token_count or 0) + (reported.thoughts_token_count or 0),
    )
