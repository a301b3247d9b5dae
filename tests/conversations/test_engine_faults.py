"""Every fault of the fake server × every provider, through the engine with a client key."""

import logging

import pytest
from asgiref.sync import sync_to_async

from byok.models import KeyAuditEvent, ProviderCredential
from byok.services import credential_set
from consumption.models import UsageEvent
from conversations.models import Message
from tenants.models import Tenant
from tenants.selectors import cap_usage

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

MODELS = {
    "anthropic": "claude-haiku-4-5",
    "openai": "gpt-4o-mini",
    "google": "gemini-2.0-flash",
    "mistral": "mistral-small-latest",
}
SENTINELS = {
    "anthropic": "sk-ant-api03-SENTINEL-faultmatrix-abcdefghijklmnop",
    "openai": "sk-proj-SENTINEL-faultmatrix-abcdefghijklmnopqrst",
    "google": "AIzaSENTINEL-faultmatrix-abcdefghijklmnopqrstu",
    "mistral": "SENTINEL-faultmatrix-mistral-abcdefghijklmnop",
}
RETRIED = 3  # CHATDIRECT_PROVIDER_RETRY max_attempts in providers_on_fake
# fault → (attempts made, engine status, credential status afterwards, ledger outcome)
EXPECTED = {
    "unauthorized": (1, "failed", "invalid", "invalid_key"),
    "forbidden": (1, "failed", "invalid", "permission_denied"),
    "rate_limited": (RETRIED, "failed", "valid", "rate_limited"),
    "server_error": (RETRIED, "failed", "unreachable", "unavailable"),
    "overloaded": (RETRIED, "failed", "unreachable", "unavailable"),
    "slow": (RETRIED, "failed", "unreachable", "timeout"),
    "reset": (RETRIED, "failed", "unreachable", "unavailable"),
    "malformed": (RETRIED, "failed", "unreachable", "unavailable"),
    # Deltas already reached the visitor: retrying would show the reply start twice.
    "stream_cut": (1, "failed", "unreachable", "unavailable"),
}


@sync_to_async
def _client_tenant(tenant_factory, provider: str, fake) -> tuple[Tenant, ProviderCredential]:
    tenant = tenant_factory(name=f"Faulty {provider}", api_key_mode="client")
    fake.add_key(provider, SENTINELS[provider])
    credential = credential_set(
        tenant=tenant,
        source="client",
        provider=provider,
        model=MODELS[provider],
        api_key=SENTINELS[provider],
        actor=None,
    )
    return tenant, credential


@sync_to_async
def _stored_text(tenant) -> str:
    parts = list(Message.objects.filter(tenant=tenant).values_list("text", "error_code"))
    parts += list(
        ProviderCredential.objects.filter(tenant=tenant).values_list("status_detail", "hint")
    )
    parts += list(KeyAuditEvent.objects.filter(tenant=tenant).values_list("detail", "hint"))
    parts += list(UsageEvent.objects.filter(tenant=tenant).values_list("outcome", "model"))
    return repr(parts)


@pytest.mark.parametrize("provider", list(MODELS))
@pytest.mark.parametrize("fault", list(EXPECTED))
async def test_fault_outcome(provider, fault, tenant_factory, providers_on_fake, settings, caplog):
    from django.test import AsyncClient

    from tests.conversations.conftest import WidgetVisitor

    settings.CHATDIRECT_PROVIDER_READ_TIMEOUT = 0.3
    caplog.set_level(logging.DEBUG)
    tenant, credential = await _client_tenant(tenant_factory, provider, providers_on_fake)
    visitor = WidgetVisitor(AsyncClient(), tenant.widget_id)
    await visitor.start()
    providers_on_fake.reply_text = (
        "A reply long enough to arrive in several streamed pieces, surely."
    )
    already = len(providers_on_fake.requests_for(provider))
    providers_on_fake.inject(provider, fault, times=None, retry_after=0.05, delay=0.8)

    body = (await visitor.say("Where is my order?")).json()

    attempts, status, credential_status, outcome = EXPECTED[fault]
    if fault == "malformed" and provider == "google":
        # Gemini's stream has no preamble: the first chunk already carried text to the visitor.
        attempts = 1
    assert body["status"] == status
    assert body["reply"]["author"] == "system"
    assert await Message.objects.filter(
        tenant=tenant, author="visitor", text="Where is my order?"
    ).aexists()
    assert len(providers_on_fake.requests_for(provider)) - already == attempts
    await credential.arefresh_from_db()
    assert credential.status == credential_status
    events = [e async for e in UsageEvent.objects.filter(tenant=tenant).order_by("attempt")]
    assert [e.outcome for e in events] == [outcome] * attempts
    if fault == "stream_cut":
        assert events[0].output_tokens > 0, "tokens streamed before the cut are recorded"
    for event in events:
        consumed = event.input_tokens + event.cached_input_tokens + event.output_tokens
        # Anthropic reports input tokens in message_start, before a malformed delta: those count.
        assert (event.cost_usd == 0) == (consumed == 0), "an attempt that consumed nothing is free"
    usage = await sync_to_async(cap_usage)(tenant=tenant)
    assert usage.dedicated_conversations == 0, "the reservation was released"
    stored = await _stored_text(tenant)
    assert SENTINELS[provider] not in stored
    assert SENTINELS[provider] not in caplog.text
    assert SENTINELS[provider][-12:] not in caplog.text


@pytest.mark.parametrize("provider", list(MODELS))
async def test_exhausted_quota_marks_the_key(provider, tenant_factory, providers_on_fake):
    from django.test import AsyncClient

    from tests.conversations.conftest import WidgetVisitor

    tenant, credential = await _client_tenant(tenant_factory, provider, providers_on_fake)
    providers_on_fake.add_key(provider, SENTINELS[provider], quota_exhausted=True)
    visitor = WidgetVisitor(AsyncClient(), tenant.widget_id)
    await visitor.start()

    body = (await visitor.say("hello")).json()

    assert body["status"] == "failed"
    await credential.arefresh_from_db()
    assert credential.status == "quota_exhausted"
    assert (await UsageEvent.objects.filter(tenant=tenant).aget()).outcome == "quota_exhausted"
