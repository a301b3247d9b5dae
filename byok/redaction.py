"""Scrub provider API keys out of text before it is logged or stored.

Three layers, applied in this order by ``redact``:

1. secrets passed explicitly to the call;
2. every secret currently registered in this process (``secret_registered`` wraps the window in
   which a plaintext key is in memory for a provider call);
3. provider key shapes: ``sk-…`` (OpenAI, ``sk-proj-``, Anthropic ``sk-ant-``), Google ``AIza…``,
   ``Bearer``/``Basic`` credentials, ``key=``/``api_key=`` parameters, ``x-api-key`` /
   ``x-goog-api-key`` header values, and OpenAI's partially echoed keys (``sk-abc***...wxyz``,
   ``Incorrect API key provided: …``).

``RedactingFilter`` applies ``redact`` to every log record; settings install it on every handler.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "REDACTED",
    "RedactingFilter",
    "redact",
    "register_secret",
    "registered_secret_count",
    "secret_registered",
    "unregister_secret",
]

REDACTED = "[redacted]"

# Shorter strings cannot be provider keys, and redacting them would shred ordinary log lines.
_MIN_SECRET_LENGTH = 4

# Each pattern keeps group 1 (a label worth keeping for debugging) and replaces the rest. Each comes
# with lower-case needles, one of which any match must contain: plain substring tests on the
# lowered line are far cheaper than a regex pass, and most log lines contain none of them.
_PATTERNS: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = (
    # OpenAI 401 text echoes part of whatever was sent, whatever its shape.
    (
        ("provided:",),
        re.compile(r"(Incorrect API key provided:\s*)\S+?(?=[.,;]?(?:\s|$))"),
    ),
    # Header values, in "name: value" lines and in dict/JSON reprs: 'x-api-key': 'value'.
    (
        ("api-key", "api_key", "apikey"),
        re.compile(
            r"""((?<![A-Za-z0-9_-])(?:x-goog-api-key|x-api-key|api-key|api_key|apikey)["']?"""
            r"""\s*[:=]\s*["']?)[^\s"',&;}\]]+""",
            re.IGNORECASE,
        ),
    ),
    # Query-string and keyword-style parameters: ?key=..., &access_token=..., key='...'.
    (
        ("key=", "token="),
        re.compile(
            r"""((?<![A-Za-z0-9_.-])(?:key|access_token|token)=["']?)[^\s"',&;#}\]]+""",
            re.IGNORECASE,
        ),
    ),
    (
        ("bearer",),
        re.compile(r"((?<![A-Za-z0-9])Bearer\s+)[A-Za-z0-9._~+/=*-]+", re.IGNORECASE),
    ),
    # "Basic" is also an English word; only a base64-looking credential after it is removed.
    (("basic",), re.compile(r"((?<![A-Za-z0-9])Basic\s+)[A-Za-z0-9+/]{8,}={0,2}")),
    # sk-, sk-ant-, sk-proj-, including masked echoes such as sk-abc***...wxyz. A bare short tail
    # without asterisks ("sk-learn") is a word, not a key.
    (
        ("sk-",),
        re.compile(
            r"()\bsk-(?:[A-Za-z0-9_-]{8,}[A-Za-z0-9_*-]*|[A-Za-z0-9_-]*\*[A-Za-z0-9_*-]*)"
            r"(?:\.{3}[A-Za-z0-9_*-]+)?"
        ),
    ),
    (("aiza",), re.compile(r"()\bAIza[0-9A-Za-z_-]{10,}")),
)
_REPLACEMENT = r"\g<1>" + REDACTED


class _Registry:
    """Process-wide multiset of plaintext keys in use.

    Reference-counted because two concurrent calls may use the same key and the first to finish
    must not unprotect the second. The lock is held only for dictionary updates, never across an
    await, so it is safe from threads and from asyncio tasks alike; readers take an immutable
    snapshot (a tuple) without locking.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._snapshot: tuple[str, ...] = ()

    def add(self, secret: str) -> None:
        if not _is_worth_redacting(secret):
            return
        with self._lock:
            self._counts[secret] += 1
            self._rebuild()

    def discard(self, secret: str) -> None:
        if not _is_worth_redacting(secret):
            return
        with self._lock:
            if self._counts[secret] <= 1:
                self._counts.pop(secret, None)
            else:
                self._counts[secret] -= 1
            self._rebuild()

    def _rebuild(self) -> None:
        # Longest first so a key that contains another key is removed whole.
        self._snapshot = tuple(sorted(self._counts, key=len, reverse=True))

    @property
    def snapshot(self) -> tuple[str, ...]:
        return self._snapshot

    def __len__(self) -> int:
        return len(self._counts)


_registry = _Registry()


def _is_worth_redacting(secret: object) -> bool:
    return isinstance(secret, str) and len(secret) >= _MIN_SECRET_LENGTH


def register_secret(secret: str) -> None:
    """Redact ``secret`` from every log line until a matching ``unregister_secret``."""
    _registry.add(secret)


def unregister_secret(secret: str) -> None:
    _registry.discard(secret)


def registered_secret_count() -> int:
    return len(_registry)


@contextmanager
def secret_registered(secret: str) -> Iterator[str]:
    """Register ``secret`` for the duration of the block (a provider call); yields it back."""
    register_secret(secret)
    try:
        yield secret
    finally:
        unregister_secret(secret)


def redact(text: str, *secrets: str) -> str:
    """``text`` with the given secrets, registered secrets and key-shaped strings replaced."""
    if not text:
        return text
    for secret in secrets:
        if _is_worth_redacting(secret) and secret in text:
            text = text.replace(secret, REDACTED)
    for secret in _registry.snapshot:
        if secret in text:
            text = text.replace(secret, REDACTED)
    lowered = text.lower()
    for needles, pattern in _PATTERNS:
        if any(needle in lowered for needle in needles):
            text = pattern.sub(_REPLACEMENT, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message and traceback text with ``redact``; never drops a record.

    The message is formatted with its args first, since a key usually arrives as an argument. The
    traceback is rendered now into ``exc_text``, which formatters reuse instead of re-rendering
    ``exc_info``. Running twice (one filter per handler) is harmless: redacted text stays redacted.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the key in its args
            message = f"{record.msg!s} {record.args!r}"
        record.msg = redact(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
