"""The fake provider server against the real provider SDKs.

Everything here goes through the installed SDKs exactly as product code would (only the base URL
differs), so these tests also pin down how each SDK reports each failure. SDK retries are off
throughout so that every injected fault surfaces once and fast.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx2
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types
from mistralai.client import Mistral
from mistralai.client import errors as mistral_errors

# Imported rather than taken from the root conftest, so this module also runs on its own
# (`pytest -p no:django --noconftest tests/fakes`).
from tests.fakes.fixtures import fake_provider_server, fake_providers  # noqa: F401
from tests.fakes.provider_server import (
    DEFAULT_KEYS,
    FAULTS,
    PROVIDERS,
    FakeProviderServer,
    count_input_tokens,
    redact_openai_key,
    split_deltas,
)

TIMEOUT = 5.0
SHORT_TIMEOUT = 0.3  # well under the 1 s "slow" delay used below
REPO_ROOT = Path(__file__).resolve().parents[2]

SYSTEM = "You are terse."  # 3 words, + 1 as a message
PROMPT = "hi there"  # 2 words, + 1 as a message
EXPECTED_INPUT = 7


def project(actual, like):
    """The part of ``actual`` with the same (nested) keys as ``like``."""
    if isinstance(like, dict):
        actual = actual if isinstance(actual, dict) else {}
        return {k: project(actual.get(k), v) for k, v in like.items()}
    return actual


# -- one driver per SDK: how product code would call it ----------------------------------------


class AnthropicDriver:
    provider = "anthropic"
    model = "claude-sonnet-4-5"

    def client(self, server, key=None, timeout=TIMEOUT):
        return anthropic.Anthropic(
            api_key=key or server.default_key(self.provider),
            base_url=server.url(self.provider),
            max_retries=0,
            timeout=timeout,
        )

    def _kwargs(self, model):
        return {
            "model": model or self.model,
            "max_tokens": 64,
            "system": SYSTEM,
            "messages": [{"role": "user", "content": PROMPT}],
        }

    def complete(self, client, model=None):
        message = client.messages.create(**self._kwargs(model))
        return message.content[0].text, message.usage.model_dump()

    def stream(self, client, model=None):
        with client.messages.stream(**self._kwargs(model)) as stream:
            deltas = list(stream.text_stream)
            return deltas, stream.get_final_message().usage.model_dump()

    async def acomplete(self, server):
        client = anthropic.AsyncAnthropic(
            api_key=server.default_key(self.provider),
            base_url=server.url(self.provider),
            max_retries=0,
            timeout=TIMEOUT,
        )
        message = await client.messages.create(**self._kwargs(None))
        deltas = []
        async with client.messages.stream(**self._kwargs(None)) as stream:
            async for text in stream.text_stream:
                deltas.append(text)
            final = await stream.get_final_message()
        await client.close()
        return message.content[0].text, deltas, final.usage.model_dump()

    def list_models(self, client):
        return [m.id for m in client.models.list()]


class OpenAIDriver:
    provider = "openai"
    model = "gpt-4o"

    def client(self, server, key=None, timeout=TIMEOUT):
        return openai.OpenAI(
            api_key=key or server.default_key(self.provider),
            base_url=server.url(self.provider),
            max_retries=0,
            timeout=timeout,
        )

    def _kwargs(self, model):
        return {
            "model": model or self.model,
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": PROMPT},
            ],
        }

    def complete(self, client, model=None):
        completion = client.chat.completions.create(**self._kwargs(model))
        return completion.choices[0].message.content, completion.usage.model_dump()

    def stream(self, client, model=None):
        chunks = list(
            client.chat.completions.create(
                **self._kwargs(model), stream=True, stream_options={"include_usage": True}
            )
        )
        deltas = [c.choices[0].delta.content for c in chunks if c.choices]
        return [d for d in deltas if d], chunks[-1].usage.model_dump()

    async def acomplete(self, server):
        client = openai.AsyncOpenAI(
            api_key=server.default_key(self.provider),
            base_url=server.url(self.provider),
            max_retries=0,
            timeout=TIMEOUT,
        )
        completion = await client.chat.completions.create(**self._kwargs(None))
        deltas, usage = [], None
        stream = await client.chat.completions.create(
            **self._kwargs(None), stream=True, stream_options={"include_usage": True}
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                deltas.append(chunk.choices[0].delta.content)
            if chunk.usage is not None:
                usage = chunk.usage.model_dump()
        await client.close()
        return completion.choices[0].message.content, deltas, usage

    def list_models(self, client):
        return [m.id for m in client.models.list()]


class GoogleDriver:
    provider = "google"
    model = "gemini-2.5-flash"

    def client(self, server, key=None, timeout=TIMEOUT):
        return genai.Client(
            api_key=key or server.default_key(self.provider),
            http_options=genai_types.HttpOptions(
                base_url=server.url(self.provider),
                api_version="v1beta",
                timeout=int(timeout * 1000),  # milliseconds
            ),
        )

    def _kwargs(self, model):
        return {
            "model": model or self.model,
            "contents": PROMPT,
            "config": genai_types.GenerateContentConfig(system_instruction=SYSTEM),
        }

    def complete(self, client, model=None):
        response = client.models.generate_content(**self._kwargs(model))
        return response.text, response.usage_metadata.model_dump(by_alias=True)

    def stream(self, client, model=None):
        chunks = list(client.models.generate_content_stream(**self._kwargs(model)))
        deltas = [c.text for c in chunks if c.text]
        return deltas, chunks[-1].usage_metadata.model_dump(by_alias=True)

    async def acomplete(self, server):
        client = self.client(server)
        response = await client.aio.models.generate_content(**self._kwargs(None))
        deltas, usage = [], None
        async for chunk in await client.aio.models.generate_content_stream(**self._kwargs(None)):
            if chunk.text:
                deltas.append(chunk.text)
            usage = chunk.usage_metadata.model_dump(by_alias=True)
        await client.aio.aclose()
        return response.text, deltas, usage

    def list_models(self, client):
        return [m.name.removeprefix("models/") for m in client.models.list()]


class MistralDriver:
    provider = "mistral"
    model = "mistral-small-latest"

    def client(self, server, key=None, timeout=TIMEOUT):
        # No retry_config: the SDK then makes exactly one attempt.
        return Mistral(
            api_key=key or server.default_key(self.provider),
            server_url=server.url(self.provider),
            timeout_ms=int(timeout * 1000),
        )

    def _kwargs(self, model):
        return {
            "model": model or self.model,
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": PROMPT},
            ],
        }

    def complete(self, client, model=None):
        response = client.chat.complete(**self._kwargs(model))
        return response.choices[0].message.content, response.usage.model_dump()

    def stream(self, client, model=None):
        events = list(client.chat.stream(**self._kwargs(model)))
        deltas = [e.data.choices[0].delta.content for e in events]
        return [d for d in deltas if d], events[-1].data.usage.model_dump()

    async def acomplete(self, server):
        client = self.client(server)
        response = await client.chat.complete_async(**self._kwargs(None))
        deltas, usage = [], None
        async for event in await client.chat.stream_async(**self._kwargs(None)):
            if event.data.choices[0].delta.content:
                deltas.append(event.data.choices[0].delta.content)
            if event.data.usage is not None:
                usage = event.data.usage.model_dump()
        return response.choices[0].message.content, deltas, usage

    def list_models(self, client):
        return [m.id for m in client.models.list().data]


DRIVERS = [AnthropicDriver(), OpenAIDriver(), GoogleDriver(), MistralDriver()]
by_provider = pytest.mark.parametrize("driver", DRIVERS, ids=[d.provider for d in DRIVERS])


@pytest.fixture
def server(fake_providers: FakeProviderServer) -> Iterator[FakeProviderServer]:  # noqa: F811
    yield fake_providers
    assert not fake_providers.errors, "the fake itself crashed:\n" + "\n".join(
        fake_providers.errors
    )


def last_json(server, provider):
    return server.requests_for(provider)[-1].json


# -- replies -----------------------------------------------------------------------------------


@by_provider
def test_full_reply_with_usage(server, driver):
    text, usage = driver.complete(driver.client(server))

    assert text == f"Hello from the fake {driver.provider}."
    expected = server.usage_for(driver.provider, last_json(server, driver.provider))
    assert project(usage, expected) == expected


@by_provider
def test_streamed_reply_with_usage(server, driver):
    deltas, usage = driver.stream(driver.client(server))

    reply = f"Hello from the fake {driver.provider}."
    assert len(deltas) > 1
    assert "".join(deltas) == reply
    expected = server.usage_for(driver.provider, last_json(server, driver.provider))
    assert project(usage, expected) == expected
    assert server.requests[-1].stream is True


@by_provider
async def test_async_clients_reply_and_stream(server, driver):
    text, deltas, usage = await driver.acomplete(server)

    assert text == "".join(deltas) == f"Hello from the fake {driver.provider}."
    expected = server.usage_for(driver.provider, last_json(server, driver.provider))
    assert project(usage, expected) == expected


def test_usage_numbers_follow_the_documented_rule(server):
    usages = {}
    for driver in DRIVERS:
        usages[driver.provider] = driver.complete(driver.client(server))[1]
    # "Hello from the fake X." is 5 words.
    assert (usages["anthropic"]["input_tokens"], usages["anthropic"]["output_tokens"]) == (7, 5)
    assert (usages["openai"]["prompt_tokens"], usages["openai"]["completion_tokens"]) == (7, 5)
    assert (usages["mistral"]["prompt_tokens"], usages["mistral"]["completion_tokens"]) == (7, 5)
    assert (usages["google"]["promptTokenCount"], usages["google"]["candidatesTokenCount"]) == (
        7,
        5,
    )
    assert usages["google"]["totalTokenCount"] == 12
    for provider in PROVIDERS:
        assert count_input_tokens(provider, last_json(server, provider)) == EXPECTED_INPUT


def test_cached_tokens_are_reported_in_each_providers_fields(server):
    server.cached_tokens = 2
    server.cache_creation_tokens = 1
    usages = {d.provider: d.complete(d.client(server))[1] for d in DRIVERS}

    # Anthropic counts cache reads and writes outside input_tokens; the others inside.
    assert usages["anthropic"]["input_tokens"] == 4
    assert usages["anthropic"]["cache_read_input_tokens"] == 2
    assert usages["anthropic"]["cache_creation_input_tokens"] == 1
    assert usages["openai"]["prompt_tokens"] == 7
    assert usages["openai"]["prompt_tokens_details"]["cached_tokens"] == 2
    assert usages["google"]["promptTokenCount"] == 7
    assert usages["google"]["cachedContentTokenCount"] == 2


def test_anthropic_stream_reports_final_usage_in_message_delta(server):
    client = AnthropicDriver().client(server)
    events = list(
        client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=64,
            messages=[{"role": "user", "content": PROMPT}],
            stream=True,
        )
    )

    types = [e.type for e in events]
    assert types[0] == "message_start" and types[-1] == "message_stop"
    assert types.count("content_block_delta") == 5
    assert events[0].message.usage.input_tokens == 3
    # message_start carries a provisional output count; only message_delta has the final one.
    delta = next(e for e in events if e.type == "message_delta")
    assert (delta.usage.output_tokens, delta.delta.stop_reason) == (5, "end_turn")


def test_openai_stream_without_include_usage_has_no_usage(server):
    client = OpenAIDriver().client(server)
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": PROMPT}], stream=True
        )
    )

    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_reply_text_is_configurable_and_split_into_deltas(server):
    server.reply_text = "One two three four five six"
    deltas, usage = OpenAIDriver().stream(OpenAIDriver().client(server))

    assert (
        deltas
        == split_deltas("One two three four five six")
        == [
            "One ",
            "two ",
            "three ",
            "four ",
            "five ",
            "six",
        ]
    )
    assert usage["completion_tokens"] == 6


def test_reply_text_may_depend_on_the_request(server):
    server.reply_text = lambda provider, body: f"{provider} saw {len(body['messages'])} messages"
    text, usage = OpenAIDriver().complete(OpenAIDriver().client(server))

    assert text == "openai saw 2 messages"
    assert usage["completion_tokens"] == 4


# -- keys, models, key validation --------------------------------------------------------------


@by_provider
def test_key_validation_calls(server, driver):
    client = driver.client(server)

    assert driver.list_models(client) == server.catalog[driver.provider]


def test_cheap_single_resource_calls(server):
    anthropic_client = AnthropicDriver().client(server)
    counted = anthropic_client.messages.count_tokens(
        model="claude-haiku-4-5", messages=[{"role": "user", "content": "one two three"}]
    )
    assert counted.input_tokens == 4
    assert anthropic_client.models.retrieve("claude-haiku-4-5").id == "claude-haiku-4-5"

    assert OpenAIDriver().client(server).models.retrieve("gpt-4o-mini").id == "gpt-4o-mini"

    google_client = GoogleDriver().client(server)
    assert google_client.models.get(model="gemini-2.5-pro").name == "models/gemini-2.5-pro"
    tokens = google_client.models.count_tokens(model="gemini-2.5-pro", contents="one two three")
    assert tokens.total_tokens == 4

    mistral_client = MistralDriver().client(server)
    assert mistral_client.models.retrieve(model_id="open-mistral-nemo").id == "open-mistral-nemo"


@by_provider
def test_unknown_key_is_rejected_in_the_providers_way(server, driver):
    bad_key = "sk-unknown-key-abcdefghijklmnop-wxyz"
    with pytest.raises(Exception) as caught:
        driver.complete(driver.client(server, key=bad_key))

    error = caught.value
    if driver.provider == "anthropic":
        assert isinstance(error, anthropic.AuthenticationError)
        assert error.body["error"]["type"] == "authentication_error"
    elif driver.provider == "openai":
        assert isinstance(error, openai.AuthenticationError)
        assert error.code == "invalid_api_key"
        # Like the real API, the message quotes part of the key: the product must scrub it.
        assert redact_openai_key(bad_key) in error.message
        assert "sk-unk" in error.message and "wxyz" in error.message
        assert bad_key not in error.message
    elif driver.provider == "google":
        # Google reports a bad key as 400 INVALID_ARGUMENT, not 401.
        assert isinstance(error, genai_errors.ClientError)
        assert (error.code, error.status) == (400, "INVALID_ARGUMENT")
        assert error.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    else:
        assert isinstance(error, mistral_errors.SDKError)
        assert error.status_code == 401
    assert server.requests[-1].api_key == bad_key


@by_provider
def test_added_keys_work_and_removed_keys_stop_working(server, driver):
    key = server.add_key(driver.provider, f"{driver.provider}-tenant-key-123456")
    assert driver.complete(driver.client(server, key=key))[0]

    server.remove_key(driver.provider, key)
    with pytest.raises(Exception) as caught:
        driver.complete(driver.client(server, key=key))
    assert status_of(caught.value) == (400 if driver.provider == "google" else 401)


@by_provider
def test_model_outside_the_keys_models_is_refused(server, driver):
    key = server.add_key(driver.provider, "restricted-key-0123456789", models=[driver.model])
    client = driver.client(server, key=key)

    assert driver.complete(client)[0]
    assert driver.list_models(client) == [driver.model]
    with pytest.raises(Exception) as caught:
        driver.complete(client, model="some-other-model")

    error = caught.value
    if driver.provider == "anthropic":
        assert isinstance(error, anthropic.NotFoundError)
        assert error.body["error"]["message"] == "model: some-other-model"
    elif driver.provider == "openai":
        assert isinstance(error, openai.NotFoundError)
        assert error.code == "model_not_found"
    elif driver.provider == "google":
        assert isinstance(error, genai_errors.ClientError)
        assert (error.code, error.status) == (404, "NOT_FOUND")
    else:
        # Mistral answers an unavailable model with 400 invalid_model.
        assert isinstance(error, mistral_errors.SDKError)
        assert error.status_code == 400
        assert json.loads(error.body)["type"] == "invalid_model"


@by_provider
def test_exhausted_quota(server, driver):
    key = server.add_key(driver.provider, "broke-key-0123456789", quota_exhausted=True)
    client = driver.client(server, key=key)

    # Listing models is free, so a key with no quota left still validates.
    assert driver.list_models(client)
    with pytest.raises(Exception) as caught:
        driver.complete(client)

    error = caught.value
    if driver.provider == "anthropic":
        assert isinstance(error, anthropic.BadRequestError)
        assert "credit balance is too low" in error.body["error"]["message"]
    elif driver.provider == "openai":
        assert isinstance(error, openai.RateLimitError)
        assert error.code == "insufficient_quota"
    elif driver.provider == "google":
        assert isinstance(error, genai_errors.ClientError)
        assert (error.code, error.status) == (429, "RESOURCE_EXHAUSTED")
        assert "quota" in error.message
    else:
        assert isinstance(error, mistral_errors.SDKError)
        assert error.status_code == 429


def test_google_key_travels_in_a_header_not_the_url(server):
    GoogleDriver().complete(GoogleDriver().client(server))
    record = server.requests[-1]
    assert record.headers["x-goog-api-key"] == DEFAULT_KEYS["google"]
    assert record.key_in_url is False
    assert "key" not in record.query

    url = f"{server.url('google')}/v1beta/models/gemini-2.5-flash"
    response = httpx2.get(url, params={"key": DEFAULT_KEYS["google"]})
    assert response.status_code == 200
    assert server.requests[-1].key_in_url is True
    assert server.requests[-1].api_key == DEFAULT_KEYS["google"]


def test_requests_without_any_key(server):
    response = httpx2.post(f"{server.url('anthropic')}/v1/messages", json={"model": "x"})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"

    response = httpx2.get(f"{server.url('google')}/v1beta/models")
    assert (response.status_code, response.json()["error"]["status"]) == (403, "PERMISSION_DENIED")

    response = httpx2.get(f"{server.url('openai')}/models")
    assert server.requests[-1].api_key is None
    assert response.status_code == 401
    assert "didn't provide an API key" in response.json()["error"]["message"]


def test_anthropic_accepts_the_x_api_key_header_too(server):
    response = httpx2.post(
        f"{server.url('anthropic')}/v1/messages",
        headers={"x-api-key": DEFAULT_KEYS["anthropic"], "anthropic-version": "2023-06-01"},
        json={
            "model": "claude-haiku-4-5",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": "hi"}],
        },
    )
    assert response.status_code == 200
    assert response.headers["request-id"].startswith("req_")
    assert response.json()["content"][0]["text"] == "Hello from the fake anthropic."


def test_openai_base_url_without_v1_is_a_404(server):
    client = openai.OpenAI(
        api_key=DEFAULT_KEYS["openai"], base_url=f"{server.base_url}/openai", max_retries=0
    )
    with pytest.raises(openai.NotFoundError):
        OpenAIDriver().complete(client)


# -- faults ------------------------------------------------------------------------------------

STATUS_FAULTS = {
    "unauthorized": {"anthropic": 401, "openai": 401, "google": 400, "mistral": 401},
    "forbidden": {"anthropic": 403, "openai": 403, "google": 403, "mistral": 403},
    "rate_limited": {"anthropic": 429, "openai": 429, "google": 429, "mistral": 429},
    "server_error": {"anthropic": 500, "openai": 500, "google": 500, "mistral": 500},
    "overloaded": {"anthropic": 529, "openai": 503, "google": 503, "mistral": 503},
}

EXPECTED_ERRORS = {
    "anthropic": {
        "unauthorized": anthropic.AuthenticationError,
        "forbidden": anthropic.PermissionDeniedError,
        "rate_limited": anthropic.RateLimitError,
        "server_error": anthropic.InternalServerError,
        "overloaded": anthropic.OverloadedError,
        "slow": anthropic.APITimeoutError,
        "reset": anthropic.APIConnectionError,
        # The SDK lets the JSON parser's own error through.
        "malformed": json.JSONDecodeError,
        "stream_cut": anthropic.APIConnectionError,
    },
    "openai": {
        "unauthorized": openai.AuthenticationError,
        "forbidden": openai.PermissionDeniedError,
        "rate_limited": openai.RateLimitError,
        "server_error": openai.InternalServerError,
        "overloaded": openai.InternalServerError,
        "slow": openai.APITimeoutError,
        "reset": openai.APIConnectionError,
        "malformed": json.JSONDecodeError,
        "stream_cut": openai.APIConnectionError,
    },
    "google": {
        "unauthorized": genai_errors.ClientError,
        "forbidden": genai_errors.ClientError,
        "rate_limited": genai_errors.ClientError,
        "server_error": genai_errors.ServerError,
        "overloaded": genai_errors.ServerError,
        # google-genai does not wrap transport errors: raw httpx2 exceptions come through.
        "slow": httpx2.TimeoutException,
        "reset": httpx2.ReadError,
        "malformed": (json.JSONDecodeError, genai_errors.UnknownApiResponseError),
        "stream_cut": httpx2.RemoteProtocolError,
    },
    "mistral": {
        "unauthorized": mistral_errors.SDKError,
        "forbidden": mistral_errors.SDKError,
        "rate_limited": mistral_errors.SDKError,
        "server_error": mistral_errors.SDKError,
        "overloaded": mistral_errors.SDKError,
        # mistralai does not wrap transport errors either.
        "slow": httpx2.TimeoutException,
        "reset": httpx2.ReadError,
        "malformed": mistral_errors.ResponseValidationError,
        "stream_cut": httpx2.RemoteProtocolError,
    },
}


def status_of(error) -> int | None:
    for attribute in ("status_code", "code"):
        value = getattr(error, attribute, None)
        if isinstance(value, int):
            return value
    return None


@pytest.mark.parametrize("streaming", [False, True], ids=["full", "stream"])
@pytest.mark.parametrize("fault", FAULTS)
@by_provider
def test_every_fault_surfaces_as_the_sdks_error(server, driver, fault, streaming):
    server.inject(driver.provider, fault, delay=1.0)
    client = driver.client(server, timeout=SHORT_TIMEOUT if fault == "slow" else TIMEOUT)
    call = driver.stream if streaming else driver.complete

    with pytest.raises(EXPECTED_ERRORS[driver.provider][fault]) as caught:
        call(client)

    record = server.requests[-1]
    assert record.fault == fault
    if fault in STATUS_FAULTS:
        assert status_of(caught.value) == STATUS_FAULTS[fault][driver.provider]
        assert record.status == STATUS_FAULTS[fault][driver.provider]
    if fault == "reset":
        assert record.status is None
        assert not isinstance(caught.value, anthropic.APITimeoutError | openai.APITimeoutError)
    # The fault was used up: the next call goes through.
    assert call(driver.client(server))


def test_rate_limited_carries_retry_after(server):
    server.inject("anthropic", "rate_limited", retry_after=7)
    server.inject("google", "rate_limited", retry_after=2.5)

    with pytest.raises(anthropic.RateLimitError) as caught:
        AnthropicDriver().complete(AnthropicDriver().client(server))
    assert caught.value.response.headers["retry-after"] == "7"

    with pytest.raises(genai_errors.ClientError) as caught:
        GoogleDriver().complete(GoogleDriver().client(server))
    assert caught.value.response.headers["retry-after"] == "2.5"
    assert caught.value.details["error"]["details"][0]["retryDelay"] == "2.5s"


def test_sdk_retries_work_against_the_fake(server):
    server.inject("openai", "rate_limited", retry_after=0.05)
    client = openai.OpenAI(
        api_key=DEFAULT_KEYS["openai"], base_url=server.url("openai"), max_retries=1
    )

    assert OpenAIDriver().complete(client)[0] == "Hello from the fake openai."
    assert [r.status for r in server.requests_for("openai")] == [429, 200]


def test_stream_cut_delivers_a_couple_of_deltas_first(server):
    server.inject("openai", "stream_cut")
    client = OpenAIDriver().client(server)
    stream = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": PROMPT}], stream=True
    )
    received = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in stream:
            received.append(chunk.choices[0].delta.content)

    assert received == ["", "Hello ", "from "]


def test_reset_sends_a_tcp_rst(server):
    server.inject("mistral", "reset")
    with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"GET /mistral/v1/models HTTP/1.1\r\nHost: fake\r\n\r\n")
        with pytest.raises(ConnectionResetError):
            if sock.recv(1024) == b"":
                pytest.fail("got an orderly close (FIN), not a reset")


def test_fault_counts_and_ordering(server):
    driver = AnthropicDriver()
    client = driver.client(server)
    server.inject("anthropic", "server_error", times=2)
    server.inject("anthropic", "rate_limited")

    outcomes = []
    for _ in range(4):
        try:
            driver.complete(client)
            outcomes.append("ok")
        except anthropic.APIStatusError as error:
            outcomes.append(error.status_code)
    assert outcomes == [500, 500, 429, "ok"]

    # Faults are per provider.
    server.inject("openai", "server_error", times=None)
    assert driver.complete(client)[0]
    for _ in range(3):
        with pytest.raises(openai.InternalServerError):
            OpenAIDriver().complete(OpenAIDriver().client(server))
    server.clear_faults()
    assert OpenAIDriver().complete(OpenAIDriver().client(server))[0]


def test_inject_rejects_unknown_names(server):
    with pytest.raises(ValueError):
        server.inject("cohere", "reset")
    with pytest.raises(ValueError):
        server.inject("openai", "explode")


# -- bookkeeping -------------------------------------------------------------------------------


def test_requests_are_recorded(server):
    OpenAIDriver().complete(OpenAIDriver().client(server))

    (record,) = server.requests
    assert (record.provider, record.method, record.path) == (
        "openai",
        "POST",
        "/v1/chat/completions",
    )
    assert record.headers["authorization"] == f"Bearer {DEFAULT_KEYS['openai']}"
    assert record.json["messages"][1] == {"role": "user", "content": PROMPT}
    assert record.api_key == DEFAULT_KEYS["openai"]
    assert (record.key_in_url, record.stream, record.status, record.fault) == (
        False,
        False,
        200,
        None,
    )


def test_reset_restores_defaults(server):
    server.add_key("openai", "extra-key-0123456789")
    OpenAIDriver().list_models(OpenAIDriver().client(server, key="extra-key-0123456789"))
    server.inject("openai", "server_error", times=None)
    server.reply_text = "changed"
    server.latency = 3.0

    server.reset()

    assert server.requests == []
    assert (server.reply_text, server.latency) == ("Hello from the fake {provider}.", 0.0)
    assert (
        OpenAIDriver().complete(OpenAIDriver().client(server))[0] == "Hello from the fake openai."
    )
    with pytest.raises(openai.AuthenticationError):
        OpenAIDriver().complete(OpenAIDriver().client(server, key="extra-key-0123456789"))


def test_latency_delays_every_answer(server):
    server.latency = 0.3
    start = time.perf_counter()
    MistralDriver().complete(MistralDriver().client(server))
    assert time.perf_counter() - start >= 0.3


def test_holds_hundreds_of_slow_requests_at_once(server):
    server.latency = 1.0
    count = 500
    body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
    request = (
        "POST /openai/v1/chat/completions HTTP/1.1\r\nHost: fake\r\n"
        f"Authorization: Bearer {DEFAULT_KEYS['openai']}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}"
    ).encode()

    async def one() -> bytes:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(request)
        await writer.drain()
        data = await reader.read()
        writer.close()
        return data.split(b" ", 2)[1]

    async def all_of_them() -> list[bytes]:
        return await asyncio.gather(*(one() for _ in range(count)))

    start = time.perf_counter()
    statuses = asyncio.run(all_of_them())
    elapsed = time.perf_counter() - start

    assert statuses == [b"200"] * count
    # One at a time would take 500 s; all at once takes the latency plus overhead.
    assert elapsed < 10, elapsed


def test_start_is_idempotent_and_stop_frees_the_port():
    server = FakeProviderServer().start()
    port = server.port
    assert server.start() is server and server.port == port
    assert server.url("mistral") == f"http://127.0.0.1:{port}/mistral"
    assert server.url("openai") == f"http://127.0.0.1:{port}/openai/v1"
    # An idle keep-alive connection must not keep stop() waiting.
    client = MistralDriver().client(server)
    MistralDriver().complete(client)
    server.stop()
    assert not server.running
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(f"http://127.0.0.1:{port}/_fake/health")
    server.stop()  # idempotent too


def test_standalone_command_line():
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.provider_server",
            "--port",
            "0",
            "--key",
            "openai=sk-cli-key-0123456789",
            "--reply-text",
            "CLI {provider} here",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = process.stdout.readline()
        assert first_line.startswith("fake provider server listening on http://127.0.0.1:")
        base_url = first_line.rsplit(" ", 1)[1].strip()
        client = openai.OpenAI(
            api_key="sk-cli-key-0123456789", base_url=f"{base_url}/openai/v1", max_retries=0
        )
        reply = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.choices[0].message.content == "CLI openai here"
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        process.stdout.close()
