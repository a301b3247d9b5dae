"""Log redaction: explicit secrets, the in-process registry, key-shaped strings, the log filter."""

import asyncio
import io
import logging
import threading

import pytest

from byok import redaction
from byok.redaction import REDACTED, RedactingFilter, redact, secret_registered

ANTHROPIC = "sk-ant-api03-" + "A1b2C3d4" * 11 + "-wxyz"
OPENAI_PROJECT = "sk-proj-" + "Zz9Yy8Xx7" * 15
OPENAI_LEGACY = "sk-" + "q" * 48
GOOGLE = "AIzaSyD-" + "k" * 31
MISTRAL = "m1Str4lKeyWith32CharsNoPrefix000"  # Mistral keys carry no recognisable prefix


@pytest.mark.parametrize("key", [ANTHROPIC, OPENAI_PROJECT, OPENAI_LEGACY, GOOGLE])
def test_provider_key_shapes_are_redacted(key):
    out = redact(f"calling provider with {key} now")
    assert key not in out
    assert out == f"calling provider with {REDACTED} now"


def test_prefixless_key_survives_patterns_but_not_explicit_or_registered_redaction():
    assert MISTRAL in redact(f"key is {MISTRAL}")
    assert MISTRAL not in redact(f"value {MISTRAL}", MISTRAL)
    with secret_registered(MISTRAL):
        assert redact(f"value {MISTRAL}") == f"value {REDACTED}"
    assert MISTRAL in redact(f"value {MISTRAL}")


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Authorization: Bearer abc.DEF-123_xyz~", "Authorization: Bearer "),
        ("authorization: bearer eyJhbGciOi.J9.sig", "authorization: bearer "),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic "),
        ("GET https://generativelanguage.googleapis.com/v1/models?key=XYZ123abc&alt=sse", "?key="),
        ("https://api.example.com/v1?foo=1&api_key=SECRET123 failed", "&api_key="),
        ("https://api.example.com/v1?access_token=tok123", "?access_token="),
        ("x-api-key: not-shaped-like-a-key-123", "x-api-key: "),
        ("X-Goog-Api-Key: plainvalue123456", "X-Goog-Api-Key: "),
        ("headers={'x-api-key': 'valuevalue', 'accept': 'json'}", "'x-api-key': '"),
        ('{"x-goog-api-key": "valuevalue"}', '"x-goog-api-key": "'),
        ("client(api_key='zzzzzzzz')", "api_key='"),
    ],
)
def test_credential_carriers_are_redacted(text, kept):
    out = redact(text)
    assert kept in out
    assert REDACTED in out
    for secret in [
        "abc.DEF",
        "eyJhbG",
        "dXNlcjpw",
        "XYZ123",
        "SECRET123",
        "tok123",
        "not-shaped",
        "plainvalue",
        "valuevalue",
        "zzzzzzzz",
    ]:
        assert secret not in out


def test_query_string_keeps_the_other_parameters():
    out = redact("https://x.example/v1/models?key=XYZ123abc&alt=sse")
    assert out == f"https://x.example/v1/models?key={REDACTED}&alt=sse"


@pytest.mark.parametrize(
    "message",
    [
        "Incorrect API key provided: sk-abc12***************************************wxyz. You can "
        "find your API key at https://platform.openai.com/account/api-keys.",
        "Incorrect API key provided: sk-proj-********************************************wxyz.",
        "Incorrect API key provided: sk-abc***...wxyz.",
        "Incorrect API key provided: hunter2hunter2. You can find your API key",
    ],
)
def test_openai_echoed_partial_keys_are_redacted(message):
    out = redact(message)
    assert "wxyz" not in out and "hunter2" not in out
    assert out.startswith(f"Incorrect API key provided: {REDACTED}")


def test_masked_sk_echo_outside_the_401_sentence():
    assert redact("got sk-abc***...wxyz back") == f"got {REDACTED} back"


@pytest.mark.parametrize(
    "text",
    [
        "task-runner started for tenant 4",
        "Basic plan upgraded to Pro",
        "cache key tenant:3 miss",
        "monkey=banana",
        "sk-learn is not a key",
        "",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert redact(text) == text


def test_explicit_secrets_are_redacted_even_without_a_shape():
    assert redact("a=opaque-value-1 b=other", "opaque-value-1") == f"a={REDACTED} b=other"


def test_too_short_secrets_are_ignored_so_logs_stay_readable():
    assert redact("a b c", "a", "") == "a b c"


def test_registry_is_reference_counted():
    key = "registered-" + "r" * 20
    redaction.register_secret(key)
    redaction.register_secret(key)
    redaction.unregister_secret(key)
    assert key not in redact(f"x {key}")
    redaction.unregister_secret(key)
    assert key in redact(f"x {key}")


def test_registry_prefers_the_longest_overlapping_secret():
    short, long = "overlap-secret", "overlap-secret-and-more"
    with secret_registered(short), secret_registered(long):
        assert redact(f"[{long}]") == f"[{REDACTED}]"


def test_registry_unregisters_on_error():
    key = "error-path-" + "e" * 20
    with pytest.raises(RuntimeError), secret_registered(key):
        raise RuntimeError("boom")
    assert key in redact(key)


def test_registry_is_thread_safe():
    before = redaction.registered_secret_count()
    errors = []

    def worker(n):
        key = f"thread-secret-{n:04d}-" + "t" * 16
        try:
            for _ in range(200):
                with secret_registered(key):
                    assert key not in redact(f"using {key}")
        except AssertionError as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert redaction.registered_secret_count() == before


async def test_registry_is_visible_across_asyncio_tasks():
    key = "async-secret-" + "a" * 20
    inside = asyncio.Event()
    release = asyncio.Event()

    async def provider_call():
        with secret_registered(key):
            inside.set()
            await release.wait()

    task = asyncio.create_task(provider_call())
    await inside.wait()
    # Another task (say, a log line from an unrelated coroutine) must see the registration.
    assert redact(f"leaked {key}") == f"leaked {REDACTED}"
    release.set()
    await task
    assert key in redact(key)


@pytest.fixture
def captured_logger():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.byok.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_filter_redacts_message_args_and_tracebacks(captured_logger):
    logger, stream = captured_logger
    opaque = "opaque-mistral-" + "m" * 24
    with secret_registered(opaque):
        logger.debug("calling with %s and %r", ANTHROPIC, {"key": opaque})
        logger.info("plain %(k)s", {"k": GOOGLE})
        try:
            raise ValueError(f"provider rejected {opaque} / {OPENAI_PROJECT}")
        except ValueError:
            logger.exception("call failed for %s", opaque)
        logger.debug("stack", stack_info=True, extra={"unused": opaque})
    output = stream.getvalue()
    for secret in (ANTHROPIC, opaque, GOOGLE, OPENAI_PROJECT):
        assert secret not in output
    assert "Traceback (most recent call last)" in output
    assert "ValueError: provider rejected [redacted] / [redacted]" in output
    assert output.count(REDACTED) >= 6


def test_filter_survives_a_broken_format_string(captured_logger):
    logger, stream = captured_logger
    logger.warning("one arg %s %s", ANTHROPIC)
    assert ANTHROPIC not in stream.getvalue()
    assert REDACTED in stream.getvalue()


def test_filter_is_idempotent_across_handlers():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "k=%s", (GOOGLE,), None)
    first, second = RedactingFilter(), RedactingFilter()
    assert first.filter(record) and second.filter(record)
    assert record.getMessage() == f"k={REDACTED}"


def test_settings_install_the_filter_on_every_handler(settings):
    handlers = settings.LOGGING["handlers"]
    filters = settings.LOGGING["filters"]
    redacting = {
        name for name, spec in filters.items() if spec.get("()") == "byok.redaction.RedactingFilter"
    }
    assert redacting
    for name, handler in handlers.items():
        assert redacting & set(handler.get("filters", [])), f"handler {name} lacks redaction"
