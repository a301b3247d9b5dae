"""Deterministic token accounting for the fake providers.

The rule is deliberately simple so that a test can compute the expected numbers by hand:

* input tokens  = whitespace-separated words in every piece of input text
                  + 1 per message (a top-level system prompt counts as one message)
* output tokens = whitespace-separated words in the reply

Only ``text`` fields count; images, tool schemas and the like are free.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

PROVIDERS = ("anthropic", "openai", "google", "mistral")


def count_words(text: str) -> int:
    return len(text.split())


def iter_texts(value: Any) -> Iterator[str]:
    """Every text fragment in a message, whatever the provider's content shape."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from iter_texts(item)
    elif isinstance(value, dict):
        if isinstance(value.get("text"), str):
            yield value["text"]
        # Anthropic tool_result blocks nest content; Gemini nests parts.
        for nested in ("content", "parts"):
            if nested in value:
                yield from iter_texts(value[nested])


def _messages_and_system(provider: str, body: dict | None) -> tuple[list, Any]:
    body = body or {}
    if provider == "google":
        contents = body.get("contents") or []
        if isinstance(contents, dict):
            contents = [contents]
        return list(contents), body.get("systemInstruction") or body.get("system_instruction")
    messages = body.get("messages") or []
    system = body.get("system") if provider == "anthropic" else None
    return list(messages), system


def count_input_tokens(provider: str, body: dict | None) -> int:
    messages, system = _messages_and_system(provider, body)
    total = len(messages) + sum(count_words(t) for m in messages for t in iter_texts(m))
    if system:
        total += 1 + sum(count_words(t) for t in iter_texts(system))
    return total


def count_output_tokens(reply_text: str) -> int:
    return count_words(reply_text)


def split_deltas(text: str) -> list[str]:
    """Word-sized pieces that concatenate back to ``text`` exactly."""
    return re.findall(r"\s*\S+\s*|\s+", text)


def compute_usage(
    provider: str,
    body: dict | None,
    reply_text: str,
    *,
    cached_tokens: int = 0,
    cache_creation_tokens: int = 0,
) -> dict:
    """The usage object exactly as the fake reports it, in the provider's own field names."""
    prompt = count_input_tokens(provider, body)
    output = count_output_tokens(reply_text)
    cached = max(0, min(cached_tokens, prompt))
    if provider == "anthropic":
        # Anthropic reports cache reads/writes separately from (not inside) input_tokens.
        creation = max(0, min(cache_creation_tokens, prompt - cached))
        return {
            "input_tokens": prompt - cached - creation,
            "cache_creation_input_tokens": creation,
            "cache_read_input_tokens": cached,
            "output_tokens": output,
        }
    if provider == "openai":
        return {
            "prompt_tokens": prompt,
            "completion_tokens": output,
            "total_tokens": prompt + output,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
    if provider == "mistral":
        return {
            "prompt_tokens": prompt,
            "completion_tokens": output,
            "total_tokens": prompt + output,
        }
    if provider == "google":
        usage = {
            "promptTokenCount": prompt,
            "candidatesTokenCount": output,
            "totalTokenCount": prompt + output,
        }
        # Gemini leaves the field out entirely when nothing came from a cache.
        if cached:
            usage["cachedContentTokenCount"] = cached
        return usage
    raise ValueError(f"unknown provider {provider!r}; expected one of {PROVIDERS}")
