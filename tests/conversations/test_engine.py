"""The chat engine's rules: store first, cap, routing by api_key_mode, failures, hand-offs."""

import datetime as dt

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from byok.models import ProviderCredential
from byok.services import credential_set
from consumption.models import UsageEvent
from conversations.models import Conversation, Message
from tenants.models import ConversationCounter, Tenant
from tenants.selectors import billing_period, cap_usage

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CLIENT_KEY = "sk-client-key-for-tests-000000000000001"


@sync_to_async
def _fill_to_cap(tenant: Tenant) -> None:
    ConversationCounter.objects.update_or_create(
        tenant=tenant,
        period=billing_period(tenant=tenant),
        defaults={"platform_conversations": tenant.plan.monthly_conversation_cap},
    )


@sync_to_async
def _client_key(tenant: Tenant, fake, provider="openai", model="gpt-4o-mini", key=CLIENT_KEY):
    fake.add_key(provider, key)
    return credential_set(
        tenant=tenant, source="client", provider=provider, model=model, api_key=key, actor=None
    )


@sync_to_async
def _set(tenant: Tenant, **fields) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(**fields)


@sync_to_async
def _usage(tenant):
    return cap_usage(tenant=tenant)


async def test_at_the_cap_the_message_is_stored_and_goes_to_people(
    tenant, widget_visitor, providers_on_fake
):
    await _fill_to_cap(tenant)
    await widget_visitor.start()

    body = (await widget_visitor.say("Is anyone there?")).json()

    assert body["status"] == "capped"
    assert body["reply"]["author"] == "system"
    assert "team" in body["reply"]["text"]
    conversation = await Conversation.objects.aget(public_id=body["conversation_id"])
    assert conversation.status == "pending" and conversation.handled_by == "queue"
    assert await Message.objects.filter(author="visitor", text="Is anyone there?").aexists()
    assert providers_on_fake.requests == []
    assert await UsageEvent.objects.acount() == 0


async def test_a_conversation_is_counted_once_not_per_message(
    tenant, widget_visitor, providers_on_fake
):
    await widget_visitor.start()
    for text in ("one", "two", "three"):
        assert (await widget_visitor.say(text)).json()["status"] == "answered"

    usage = await _usage(tenant)
    assert usage.platform_conversations == 1
    assert await UsageEvent.objects.acount() == 3


async def test_after_30_idle_minutes_the_next_message_starts_a_new_conversation(
    tenant, widget_visitor, providers_on_fake
):
    await widget_visitor.start()
    first = (await widget_visitor.say("one")).json()
    await Conversation.objects.filter(public_id=first["conversation_id"]).aupdate(
        last_activity=timezone.now() - dt.timedelta(minutes=31)
    )

    second = (await widget_visitor.say("two")).json()

    assert second["conversation_id"] != first["conversation_id"]
    old = await Conversation.objects.aget(public_id=first["conversation_id"])
    assert old.status == "resolved"
    assert (await _usage(tenant)).platform_conversations == 2


async def test_client_mode_with_a_working_key_uses_it_and_is_never_capped(
    tenant, widget_visitor, providers_on_fake
):
    await _set(tenant, api_key_mode="client")
    await _client_key(tenant, providers_on_fake)
    await _fill_to_cap(tenant)
    await widget_visitor.start()

    body = (await widget_visitor.say("hello")).json()

    assert body["status"] == "answered"
    assert body["reply"]["text"] == "Hello from the fake openai."
    chat_calls = [
        r for r in providers_on_fake.requests_for("openai") if r.path.endswith("/chat/completions")
    ]
    assert chat_calls[-1].api_key == CLIENT_KEY
    conversation = await Conversation.objects.aget(public_id=body["conversation_id"])
    assert (conversation.key_source, conversation.counted_toward_cap) == ("client", False)
    usage = await _usage(tenant)
    assert usage.dedicated_conversations == 1
    assert (await UsageEvent.objects.aget()).key_source == "client"


async def test_client_mode_without_a_key_uses_the_platform_key_and_its_cap(
    tenant, widget_visitor, providers_on_fake
):
    await _set(tenant, api_key_mode="client")
    await widget_visitor.start()

    body = (await widget_visitor.say("hello")).json()
    assert body["reply"]["text"] == "Hello from the fake anthropic."
    await _fill_to_cap(tenant)
    await Conversation.objects.all().aupdate(status="resolved")

    assert (await widget_visitor.say("again")).json()["status"] == "capped"


async def test_a_new_client_key_takes_effect_on_the_next_message(
    tenant, widget_visitor, providers_on_fake
):
    await _set(tenant, api_key_mode="client")
    await widget_visitor.start()
    assert (await widget_visitor.say("one")).json()["reply"][
        "text"
    ] == "Hello from the fake anthropic."

    await _client_key(tenant, providers_on_fake, provider="mistral", model="mistral-small-latest")

    assert (await widget_visitor.say("two")).json()["reply"][
        "text"
    ] == "Hello from the fake mistral."


async def test_admin_mode_uses_the_admin_key(tenant, widget_visitor, providers_on_fake):
    await _set(tenant, api_key_mode="admin")
    providers_on_fake.add_key("google", "AIza-admin-managed-key-000000000000000")
    await sync_to_async(credential_set)(
        tenant=tenant,
        source="admin",
        provider="google",
        model="gemini-2.0-flash",
        api_key="AIza-admin-managed-key-000000000000000",
        actor=None,
    )
    await _fill_to_cap(tenant)
    await widget_visitor.start()

    body = (await widget_visitor.say("hello")).json()

    assert body["reply"]["text"] == "Hello from the fake google."
    assert (await UsageEvent.objects.aget()).key_source == "admin"


async def test_a_rejected_client_key_is_marked_and_the_visitor_told_politely(
    tenant, widget_visitor, providers_on_fake
):
    await _set(tenant, api_key_mode="client")
    credential = await _client_key(tenant, providers_on_fake)
    providers_on_fake.remove_key("openai", CLIENT_KEY)
    await widget_visitor.start()

    body = (await widget_visitor.say("hello")).json()

    assert body["status"] == "failed"
    assert body["reply"]["author"] == "system" and "Sorry" in body["reply"]["text"]
    assert await Message.objects.filter(author="visitor", text="hello").aexists()
    await credential.arefresh_from_db()
    assert credential.status == ProviderCredential.Status.INVALID
    assert CLIENT_KEY not in credential.status_detail
    event = await UsageEvent.objects.aget()
    assert (event.outcome, event.cost_usd, event.input_tokens) == ("invalid_key", 0, 0)
    assert (await _usage(tenant)).dedicated_conversations == 0, "the reservation is released"


async def test_in_hybrid_mode_a_provider_failure_hands_over_to_people(
    tenant, widget_visitor, providers_on_fake
):
    await _set(tenant, chat_mode="hybrid")
    providers_on_fake.inject("anthropic", "server_error", times=None)
    await widget_visitor.start()

    body = (await widget_visitor.say("hello")).json()

    assert body["status"] == "queued"
    conversation = await Conversation.objects.aget(public_id=body["conversation_id"])
    assert conversation.handled_by == "queue" and conversation.status == "pending"
    assert len(providers_on_fake.requests_for("anthropic")) == 3, "bounded retries"
    assert await UsageEvent.objects.acount() == 3, "one ledger row per attempt"
    assert (await _usage(tenant)).platform_conversations == 0
    # The bot stays silent while the conversation waits for a person.
    assert (await widget_visitor.say("still there?")).json()["status"] == "queued"
    assert len(providers_on_fake.requests_for("anthropic")) == 3


async def test_human_mode_never_calls_a_provider(tenant, widget_visitor, providers_on_fake):
    await _set(tenant, chat_mode="human")
    await widget_visitor.start()

    body = (await widget_visitor.say("hello")).json()

    assert body["status"] == "queued" and body["reply"] is None
    assert providers_on_fake.requests == []


async def test_a_transient_failure_is_retried_and_answered(
    tenant, widget_visitor, providers_on_fake
):
    providers_on_fake.inject("anthropic", "overloaded", times=1)
    await widget_visitor.start()

    body = (await widget_visitor.say("hello")).json()

    assert body["status"] == "answered"
    outcomes = [e.outcome async for e in UsageEvent.objects.order_by("attempt")]
    assert outcomes == ["unavailable", "ok"]


async def test_the_prompt_carries_identity_instructions_and_history(
    tenant, widget_visitor, providers_on_fake
):
    from conversations.services import bot_identity_update

    await sync_to_async(bot_identity_update)(
        tenant=tenant, name="Maple", instructions="Never discuss prices of competitors."
    )
    await widget_visitor.start()
    await widget_visitor.say("first question")

    await widget_visitor.say("second question")

    sent = providers_on_fake.requests_for("anthropic")[-1].json
    assert "Maple" in sent["system"] if isinstance(sent["system"], str) else str(sent["system"])
    assert "Never discuss prices of competitors." in str(sent["system"])
    texts = [str(m["content"]) for m in sent["messages"]]
    assert "first question" in texts[0] and "second question" in texts[-1]
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]


async def test_a_visitor_who_leaves_mid_reply_still_gets_it_stored_and_counted(
    tenant, providers_on_fake
):
    import asyncio

    from conversations.services.engine import ReplyDelta, message_handle
    from conversations.services.visitors import visitor_session_start

    providers_on_fake.reply_text = "one two three four five six seven eight nine ten"
    providers_on_fake.chunk_delay = 0.05
    session = await sync_to_async(visitor_session_start)(tenant=tenant)
    events = message_handle(tenant=tenant, visitor=session.visitor, text="hello")
    async for event in events:
        if isinstance(event, ReplyDelta):
            break
    await events.aclose()  # the browser went away after the first words

    for _ in range(100):
        if await Message.objects.filter(author="bot").aexists():
            break
        await asyncio.sleep(0.05)
    reply = await Message.objects.aget(author="bot")
    assert reply.text == providers_on_fake.reply_text
    assert await UsageEvent.objects.filter(outcome="ok").acount() == 1
    assert (await _usage(tenant)).platform_conversations == 1


async def test_a_catalog_edit_in_admin_sizes_the_very_next_reply(
    tenant, widget_visitor, providers_on_fake
):
    """The catalog is cached per process; saving a model (as admin does) clears the cache."""
    from conversations.models import AIModel

    await widget_visitor.start()
    await widget_visitor.say("First question")
    model = await AIModel.objects.aget(provider="anthropic", model_id="claude-haiku-4-5")
    model.max_output_tokens = 321
    await sync_to_async(model.save)()

    await widget_visitor.say("Second question")

    sent = [r.json["max_tokens"] for r in providers_on_fake.requests_for("anthropic")]
    assert sent[-1] == 321 and sent[0] != 321
