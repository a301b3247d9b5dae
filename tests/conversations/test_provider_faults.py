"""Every fault the fake can inject, for every provider, through the one retry policy.

The adapters drive the real SDKs against the fake server; only the sleep between attempts is
replaced, by a recorder, so that the suite stays fast and the requested delays can be asserted.
"""

from __future__ import annotations

import httpx2
import pytest

from conversations.providers.base import (
    ChatMessage,
    ChatRequest,
    ChatResult,
    InvalidKey,
    PermissionDenied,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    TextDelta,
    Unavailable,
    provider_error,
    transport_error,
)
from conversations.providers.registry import PROVIDERS, close_pools, get_adapter
from conversations.providers.retry import AttemptOutcome, RetryPolicy, stream_with_retries
from tests.fakes.provider_server import FAULTS

MODELS = {
    "anthropic": "claude-haiku-4-5",
    "openai": "gpt-4o-mini",
    "google": "gemini-2.5-flash",
    "mistral": "mistral-small-latest",
}
SENTINEL_KEYS = {
    "anthropic": "sk-ant-api03-SENTINEL-anthropic-7c1e9b2d4f6a8Zq9X",
    "openai": "sk-proj-SENTINEL-openai-3b5d7f9a1c2e4g6Zq9X",
    "google": "AIzaSENTINEL-google-5e7a9c1b3d2f4h6Zq9X",
    "mistral": "SENTINELmistral8d0f2b4c6e1a3g5i7Zq9X",
}
POLICY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=4.0, jitter=False)
READ_TIMEOUT = 0.5
SLOW = 2.0

# fault -> (error raised by the first attempt, whether the policy retries it)
FIRST_ATTEMPT = {
    "unauthorized": (InvalidKey, False),
    "forbidden": (PermissionDenied, False),
    "rate_limited": (RateLimited, True),
    "server_error": (Unavailable, True),
    "overloaded": (Unavailable, True),
    "slow": (ProviderTimeout, True),
    "reset": (Unavailable, True),
    "malformed": (Unavailable, True),
    "stream_cut": (Unavailable, True),
}


@pytest.fixture
async def fake(fake_providers, settings):
    settings.CHATDIRECT_PROVIDER_BASE_URLS = {p: fake_providers.url(p) for p in PROVIDERS}
    settings.CHATDIRECT_PROVIDER_READ_TIMEOUT = READ_TIMEOUT
    for provider in PROVIDERS:
        fake_providers.add_key(provider, SENTINEL_KEYS[provider])
    fake_providers.reply_text = "One two three four five six."
    yield fake_providers
    # Each test runs its own event loop; its pooled connections must not outlive it.
    await close_pools()


class Run:
    """One stream_with_retries call and everything observable about it."""

    def __init__(self) -> None:
        self.events: list[TextDelta | ChatResult] = []
        self.outcomes: list[AttemptOutcome] = []
        self.sleeps: list[float] = []
        self.error: ProviderError | None = None

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    @property
    def deltas(self) -> list[TextDelta]:
        return [event for event in self.events if isinstance(event, TextDelta)]


async def run(provider: str, *, policy: RetryPolicy = POLICY, on_attempt=None) -> Run:
    observed = Run()
    request = ChatRequest(
        model=MODELS[provider],
        system="You are helpful.",
        messages=(ChatMessage(role="user", text="Hello there"),),
    )
    try:
        async for event in stream_with_retries(
            get_adapter(provider),
            request,
            api_key=SENTINEL_KEYS[provider],
            policy=policy,
            on_attempt=on_attempt or observed.outcomes.append,
            sleep=observed.sleep,
        ):
            observed.events.append(event)
    except ProviderError as error:
        observed.error = error
    return observed


def assert_no_key_in(error: ProviderError, provider: str) -> None:
    key = SENTINEL_KEYS[provider]
    for text in (error.message, str(error), repr(error), repr(vars(error))):
        assert key not in text
        assert "SENTINEL" not in text
        assert "Zq9X" not in text  # the tail OpenAI echoes
    # The SDK exception, which holds the request and its auth header, is not reachable from ours.
    assert error.__cause__ is None
    assert error.__context__ is None


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_fault_once(fake, provider, fault):
    fake.inject(provider, fault, times=1, retry_after=0.5, delay=SLOW)

    observed = await run(provider)

    expected_error, retried = FIRST_ATTEMPT[fault]
    first = observed.outcomes[0]
    assert type(first.error) is expected_error
    assert first.error.provider == provider
    assert first.result is None
    assert_no_key_in(first.error, provider)
    # A reply that has started reaching the visitor is never started again. The fake's malformed
    # Gemini stream sends one good chunk before the broken one.
    delivered_before_failure = fault == "stream_cut" or (provider, fault) == ("google", "malformed")
    if retried and not delivered_before_failure:
        assert observed.error is None
        assert isinstance(observed.events[-1], ChatResult)
        assert observed.events[-1].text == "One two three four five six."
        assert len(fake.requests_for(provider)) == 2
        assert [o.attempt_number for o in observed.outcomes] == [1, 2]
        assert observed.outcomes[1].result == observed.events[-1]
        assert observed.sleeps == [0.5 if fault == "rate_limited" else POLICY.base_delay]
    else:
        assert observed.error is first.error
        assert bool(observed.deltas) == delivered_before_failure
        assert len(fake.requests_for(provider)) == 1
        assert len(observed.outcomes) == 1
        assert observed.sleeps == []


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_cut_stream_is_not_retried_and_reports_the_tokens_used(fake, provider):
    fake.inject(provider, "stream_cut")

    observed = await run(provider)

    assert isinstance(observed.error, Unavailable)
    assert [d.text for d in observed.deltas] == ["One ", "two "]
    assert len(fake.requests_for(provider)) == 1
    usage = observed.error.usage
    assert usage is not None
    assert usage.output_tokens >= 2
    assert usage.input_tokens + usage.cached_input_tokens > 0
    if provider == "anthropic":
        # Anthropic reports the input side when the stream opens.
        assert usage.input_tokens == 7


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_slow_provider_times_out_at_the_read_timeout(fake, provider):
    fake.inject(provider, "slow", times=1, delay=SLOW)

    observed = await run(provider, policy=RetryPolicy(max_attempts=1))

    assert isinstance(observed.error, ProviderTimeout)
    assert observed.error.retryable
    assert READ_TIMEOUT * 1000 * 0.8 <= observed.outcomes[0].duration_ms < SLOW * 1000


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_persistent_failure_stops_after_max_attempts(fake, provider):
    fake.inject(provider, "server_error", times=None)

    observed = await run(provider)

    assert isinstance(observed.error, Unavailable)
    assert len(fake.requests_for(provider)) == POLICY.max_attempts
    assert [o.attempt_number for o in observed.outcomes] == [1, 2, 3]
    assert all(o.error is not None for o in observed.outcomes)
    assert observed.sleeps == [0.01, 0.02]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_retry_after_beyond_the_cap_is_surfaced_not_waited_for(fake, provider):
    fake.inject(provider, "rate_limited", times=1, retry_after=30)

    observed = await run(provider)

    assert isinstance(observed.error, RateLimited)
    assert observed.error.retry_after == 30
    assert len(fake.requests_for(provider)) == 1
    assert observed.sleeps == []


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_quota_exhausted_is_not_retried(fake, provider):
    fake.add_key(provider, SENTINEL_KEYS[provider], quota_exhausted=True)

    observed = await run(provider)

    assert observed.error is not None
    assert observed.error.kind == "quota_exhausted"
    assert not observed.error.retryable
    assert len(fake.requests_for(provider)) == 1
    assert_no_key_in(observed.error, provider)


async def test_on_attempt_may_be_a_coroutine_function(fake):
    fake.inject("openai", "server_error", times=1)
    outcomes = []

    async def record(outcome: AttemptOutcome) -> None:
        outcomes.append(outcome)

    observed = await run("openai", on_attempt=record)

    assert observed.error is None
    assert [o.error is not None for o in outcomes] == [True, False]
    assert outcomes[1].result.usage.output_tokens == 6
    assert all(o.duration_ms >= 0 for o in outcomes)


def test_full_jitter_backoff_stays_under_the_exponential_ceiling():
    policy = RetryPolicy(base_delay=0.25, max_delay=4.0)

    for failed_attempt, ceiling in [(1, 0.25), (2, 0.5), (3, 1.0), (6, 4.0), (9, 4.0)]:
        delays = [policy.backoff(failed_attempt) for _ in range(200)]
        assert all(0 <= delay <= ceiling for delay in delays)
        assert len(set(delays)) > 1


def test_a_transport_error_quoting_a_url_with_the_key_is_scrubbed():
    key = SENTINEL_KEYS["google"]
    leaky = httpx2.ConnectError(f"cannot reach https://generativelanguage.example/v1?key={key}")

    error = transport_error(leaky, label="Google", api_key=key, provider="google")

    assert isinstance(error, Unavailable)
    assert_no_key_in(error, "google")


def test_provider_text_echoing_the_key_is_scrubbed():
    key = SENTINEL_KEYS["mistral"]
    detail = f"bad request to /v1/chat?key={key} with Authorization: Bearer {key}"

    error = provider_error(
        Unavailable, label="Mistral", detail=detail, api_key=key, provider="mistral"
    )

    assert_no_key_in(error, "mistral")
