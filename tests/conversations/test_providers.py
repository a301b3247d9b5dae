"""The four SDK adapters and the demo provider, end to end against the wire-compatible fake.

Nothing of ours is mocked: each adapter drives its provider's real SDK over loopback HTTP.
"""

from __future__ import annotations

import asyncio

import pytest

from conversations.providers.base import (
    ChatMessage,
    ChatRequest,
    ChatResult,
    InvalidKey,
    TextDelta,
    TokenUsage,
)
from conversations.providers.demo import DEMO_PREFIX
from conversations.providers.registry import PROVIDERS, close_pools, get_adapter

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


@pytest.fixture
async def fake(fake_providers, settings):
    """The fake server, with every provider's base URL pointed at it (which rebuilds the adapters)."""
    settings.CHATDIRECT_PROVIDER_BASE_URLS = {p: fake_providers.url(p) for p in PROVIDERS}
    settings.CHATDIRECT_PROVIDER_READ_TIMEOUT = 10.0
    yield fake_providers
    # Each test runs its own event loop; its pooled connections must not outlive it.
    await close_pools()


def chat_request(provider: str, **overrides) -> ChatRequest:
    fields = {
        "model": MODELS[provider],
        "system": "You are helpful.",
        "messages": (ChatMessage(role="user", text="Hello there"),),
    }
    return ChatRequest(**{**fields, **overrides})


async def collect(provider: str, api_key: str, request: ChatRequest | None = None) -> list:
    adapter = get_adapter(provider)
    return [
        event async for event in adapter.stream(request or chat_request(provider), api_key=api_key)
    ]


def output_limit(provider: str, body: dict) -> int:
    if provider == "google":
        return body["generationConfig"]["maxOutputTokens"]
    if provider == "openai":
        return body["max_completion_tokens"]
    return body["max_tokens"]


def reported_usage(provider: str, usage: dict) -> TokenUsage:
    """The provider's own usage object read as non-overlapping token classes."""
    if provider == "anthropic":
        return TokenUsage(
            input_tokens=usage["input_tokens"],
            cached_input_tokens=usage["cache_read_input_tokens"],
            cache_write_tokens=usage["cache_creation_input_tokens"],
            output_tokens=usage["output_tokens"],
        )
    if provider == "google":
        cached = usage.get("cachedContentTokenCount", 0)
        return TokenUsage(
            input_tokens=usage["promptTokenCount"] - cached,
            cached_input_tokens=cached,
            output_tokens=usage["candidatesTokenCount"],
        )
    cached = usage.get("prompt_tokens_details", {}).get("cached_tokens", 0)
    return TokenUsage(
        input_tokens=usage["prompt_tokens"] - cached,
        cached_input_tokens=cached,
        output_tokens=usage["completion_tokens"],
    )


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_complete_returns_the_whole_reply(fake, provider):
    result = await get_adapter(provider).complete(
        chat_request(provider), api_key=fake.default_key(provider)
    )

    assert result.text == fake.reply_for(provider)
    assert result.finish_reason == "stop"
    assert result.model == MODELS[provider]
    assert result.response_id


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_stream_yields_several_deltas_then_exactly_one_result(fake, provider):
    fake.reply_text = "One two three four five six."

    events = await collect(provider, fake.default_key(provider))

    deltas, final = events[:-1], events[-1]
    assert len(deltas) >= 3
    assert all(isinstance(event, TextDelta) for event in deltas)
    assert isinstance(final, ChatResult)
    assert "".join(delta.text for delta in deltas) == final.text == "One two three four five six."


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_usage_is_exactly_what_the_provider_reported(fake, provider):
    result = await get_adapter(provider).complete(
        chat_request(provider), api_key=fake.default_key(provider)
    )

    sent = fake.requests_for(provider)[-1].json
    assert result.usage == reported_usage(provider, fake.usage_for(provider, sent))
    # By the fake's rule: 3 + 1 words for the system prompt, 2 + 1 for the message; 5 words out.
    assert result.usage.input_tokens + result.usage.cached_input_tokens == 7
    assert result.usage.output_tokens == 5


@pytest.mark.parametrize("provider", ["anthropic", "openai", "google"])
async def test_cached_input_is_not_counted_twice(fake, provider):
    fake.cached_tokens = 3
    fake.cache_creation_tokens = 2

    result = await get_adapter(provider).complete(
        chat_request(provider), api_key=fake.default_key(provider)
    )

    sent = fake.requests_for(provider)[-1].json
    assert result.usage == reported_usage(provider, fake.usage_for(provider, sent))
    usage = result.usage
    assert usage.cached_input_tokens == 3
    assert usage.input_tokens + usage.cached_input_tokens + usage.cache_write_tokens == 7


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_validate_key_accepts_a_working_key(fake, provider):
    check = await get_adapter(provider).validate_key(fake.default_key(provider), MODELS[provider])

    assert check.status == "valid"
    # A one-token generation on the chosen model: proves key, model and quota at the lowest cost.
    sent = fake.requests_for(provider)[-1]
    assert sent.stream
    assert MODELS[provider] in sent.path + str(sent.json)
    assert output_limit(provider, sent.json) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_validate_key_reports_an_unknown_key_as_invalid(fake, provider):
    key = SENTINEL_KEYS[provider]

    check = await get_adapter(provider).validate_key(key, MODELS[provider])

    assert check.status == "invalid"
    assert "SENTINEL" not in check.message
    assert "Zq9X" not in check.message


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_validate_key_reports_exhausted_quota(fake, provider):
    key = fake.add_key(provider, SENTINEL_KEYS[provider], quota_exhausted=True)

    check = await get_adapter(provider).validate_key(key, MODELS[provider])

    assert check.status == "quota_exhausted"
    assert "SENTINEL" not in check.message


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_validate_key_reports_a_model_the_key_may_not_use(fake, provider):
    key = fake.add_key(provider, SENTINEL_KEYS[provider], models=["some-other-model"])

    check = await get_adapter(provider).validate_key(key, MODELS[provider])

    assert check.status == "permission_denied"


async def test_google_key_travels_only_in_the_header(fake):
    key = fake.add_key("google", SENTINEL_KEYS["google"])

    await get_adapter("google").complete(chat_request("google"), api_key=key)
    await get_adapter("google").validate_key(key, MODELS["google"])

    sent = fake.requests_for("google")
    assert len(sent) == 2
    for recorded in sent:
        assert recorded.key_in_url is False
        assert "key" not in recorded.query
        assert recorded.headers["x-goog-api-key"] == key


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_calls_in_one_loop_share_one_connection_pool(fake, provider):
    adapter = get_adapter(provider)
    pool = adapter.pools.client()
    sent_through_pool = []

    async def record(request):
        sent_through_pool.append(request.url.path)

    pool.event_hooks["request"].append(record)

    await adapter.complete(chat_request(provider), api_key=fake.default_key(provider))
    await adapter.complete(chat_request(provider), api_key=fake.default_key(provider))

    assert adapter.pools.client() is pool
    assert len(sent_through_pool) == 2


def test_each_event_loop_gets_its_own_pool(fake):
    adapter = get_adapter("openai")

    async def call():
        await adapter.complete(chat_request("openai"), api_key=fake.default_key("openai"))
        client = adapter.pools.client()
        known = list(adapter.pools._clients.values())
        await close_pools()
        return client, known

    first, _ = asyncio.run(call())
    second, known = asyncio.run(call())

    assert first is not second
    # The finished first loop's entry was dropped, not kept alive by its sockets.
    assert known == [second]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_the_key_is_not_kept_on_the_adapter_even_mid_stream(fake, provider):
    key = fake.add_key(provider, SENTINEL_KEYS[provider])
    fake.reply_text = "One two three four five six."
    adapter = get_adapter(provider)

    stream = adapter.stream(chat_request(provider), api_key=key)
    first = await anext(stream)
    assert isinstance(first, TextDelta)

    pooled = list(adapter.pools._clients.values())
    shared_state = [repr(adapter), repr(vars(adapter)), repr(vars(adapter.pools))]
    shared_state += [repr(dict(client.headers)) + repr(client.auth) for client in pooled]
    assert not any(key in text or "SENTINEL" in text for text in shared_state)
    await stream.aclose()


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_empty_key_is_refused_without_calling_the_provider(fake, provider, monkeypatch):
    # The SDKs would otherwise fall back to these variables: ChatDirect's own pooled keys.
    for variable in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "MISTRAL_API_KEY"):
        monkeypatch.setenv(variable, fake.default_key(provider))

    with pytest.raises(InvalidKey):
        await get_adapter(provider).complete(chat_request(provider), api_key="")

    assert fake.requests_for(provider) == []


def test_settings_change_rebuilds_the_adapters(fake, settings):
    before = get_adapter("anthropic")
    assert get_adapter("anthropic") is before
    assert before.base_url == fake.url("anthropic")

    settings.CHATDIRECT_PROVIDER_BASE_URLS = {"anthropic": "https://eu.example.test"}

    after = get_adapter("anthropic")
    assert after is not before
    assert after.base_url == "https://eu.example.test"
    assert get_adapter("openai").base_url == "https://api.openai.com/v1"


def test_unknown_provider_is_refused():
    with pytest.raises(ValueError, match="Unknown AI provider"):
        get_adapter("cohere")


# --- demo -----------------------------------------------------------------------------------------


async def test_demo_streams_a_labelled_deterministic_reply_word_by_word():
    demo = get_adapter("demo")
    request = ChatRequest(
        model="demo",
        system="You are Ava, the assistant of Maple Bakery. Be brief.",
        messages=(ChatMessage(role="user", text="Do you sell gluten-free bread?"),),
    )

    events = [event async for event in demo.stream(request, api_key="")]
    again = await demo.complete(request, api_key="")

    deltas, result = events[:-1], events[-1]
    assert len(deltas) > 5
    assert result.text == "".join(d.text for d in deltas) == again.text
    assert result.text.startswith(DEMO_PREFIX)
    assert "gluten-free bread" in result.text
    assert "Maple Bakery" in result.text
    assert result.usage.input_tokens > 0
    assert result.usage.output_tokens > 0
    assert result.finish_reason == "stop"


async def test_demo_accepts_any_key():
    check = await get_adapter("demo").validate_key("", "demo")

    assert check.status == "valid"
