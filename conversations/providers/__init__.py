"""LLM provider adapters: one per provider on its official SDK, behind one contract (`base`).

`registry.get_adapter(name)` gives the configured, process-wide adapter; `retry.stream_with_retries`
is the one retry policy. This package imports no Django except in `registry`.
"""

from conversations.providers.base import (
    BadRequest,
    ChatAdapter,
    ChatMessage,
    ChatRequest,
    ChatResult,
    InvalidKey,
    KeyCheck,
    PermissionDenied,
    ProviderConfig,
    ProviderError,
    ProviderTimeout,
    QuotaExhausted,
    RateLimited,
    TextDelta,
    TokenUsage,
    Unavailable,
)
from conversations.providers.retry import AttemptOutcome, RetryPolicy, stream_with_retries

__all__ = [
    "AttemptOutcome",
    "BadRequest",
    "ChatAdapter",
    "ChatMessage",
    "ChatRequest",
    "ChatResult",
    "InvalidKey",
    "KeyCheck",
    "PermissionDenied",
    "ProviderConfig",
    "ProviderError",
    "ProviderTimeout",
    "QuotaExhausted",
    "RateLimited",
    "RetryPolicy",
    "TextDelta",
    "TokenUsage",
    "Unavailable",
    "stream_with_retries",
]
