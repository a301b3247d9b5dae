"""The widget HTTP API, end to end through the real views, engine and SDKs against the fake."""

import pytest
from django.test import AsyncClient

from consumption.models import UsageEvent
from conversations.models import Conversation, Message
from tests.conversations.conftest import ORIGIN, WidgetVisitor

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


async def test_session_returns_token_greeting_mode_and_locale(widget_visitor):
    body = await widget_visitor.start()

    assert body["status_code"] == 201
    assert body["visitor_token"]
    assert body["greeting"] == "Hi! How can I help you today?"
    assert body["mode"] == "ai"
    assert body["locale"] == "en"


async def test_session_resumes_the_same_visitor_with_its_token(widget_visitor, providers_on_fake):
    await widget_visitor.start()
    await widget_visitor.say("Hello")

    resumed = await widget_visitor.start()
    history = (await widget_visitor.poll()).json()["messages"]

    assert resumed["status_code"] == 200 and resumed["resumed"] is True
    assert [m["author"] for m in history] == ["visitor", "bot"]


async def test_message_is_answered_by_the_platform_provider(
    widget_visitor, providers_on_fake, tenant
):
    await widget_visitor.start()

    response = await widget_visitor.say("What are your opening hours?")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "answered"
    assert body["message"] == {
        **body["message"],
        "author": "visitor",
        "text": "What are your opening hours?",
    }
    assert body["reply"]["author"] == "bot"
    assert body["reply"]["text"] == "Hello from the fake anthropic."
    conversation = await Conversation.objects.aget(public_id=body["conversation_id"])
    assert conversation.counted_toward_cap and conversation.key_source == "platform"
    event = await UsageEvent.objects.aget(conversation=conversation)
    assert (event.provider, event.model, event.key_source) == (
        "anthropic",
        "claude-haiku-4-5",
        "platform",
    )
    assert event.output_tokens > 0 and event.cost_usd > 0


async def test_streamed_reply_arrives_as_server_sent_events(widget_visitor, providers_on_fake):
    providers_on_fake.reply_text = "Our shop opens at nine and closes at six on weekdays."
    await widget_visitor.start()

    events = await widget_visitor.say_streaming("When do you open?")

    kinds = [kind for kind, _ in events]
    assert kinds[0] == "message" and kinds[-1] == "done"
    deltas = [data["text"] for kind, data in events if kind == "delta"]
    assert len(deltas) > 1
    assert "".join(deltas) == providers_on_fake.reply_text
    assert events[-1][1]["reply"]["text"] == providers_on_fake.reply_text


async def test_polling_returns_only_newer_messages(widget_visitor, providers_on_fake):
    await widget_visitor.start()
    first = (await widget_visitor.say("One")).json()

    newer = (await widget_visitor.poll(after=first["message"]["id"])).json()["messages"]

    assert [m["id"] for m in newer] == [first["reply"]["id"]]


async def test_a_disallowed_origin_is_refused(tenant):
    intruder = WidgetVisitor(AsyncClient(), tenant.widget_id, origin="https://evil.example.net")

    body = await intruder.start()

    assert body["status_code"] == 403
    assert body["error"]["code"] == "origin_not_allowed"


async def test_messages_from_a_disallowed_origin_are_refused_and_not_stored(widget_visitor):
    await widget_visitor.start()
    widget_visitor.origin = "https://evil.example.net"

    response = await widget_visitor.say("hi")

    assert response.status_code == 403
    assert await Message.objects.acount() == 0


async def test_preflight_allows_the_widget_headers():
    response = await AsyncClient().options(
        "/api/widget/v1/messages",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )

    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "Authorization" in response["Access-Control-Allow-Headers"]


async def test_unknown_widget_id_is_a_clear_404():
    body = await WidgetVisitor(AsyncClient(), "wgt_nope").start()

    assert body["status_code"] == 404
    assert body["error"]["code"] == "unknown_widget"


async def test_a_forged_token_is_refused(widget_visitor):
    await widget_visitor.start()
    widget_visitor.token = widget_visitor.token[:-2] + "xx"

    response = await widget_visitor.say("hi")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_visitor_token"


async def test_a_too_long_message_is_refused_with_the_limit(widget_visitor, settings):
    await widget_visitor.start()

    response = await widget_visitor.say("x" * (settings.CHATDIRECT_MESSAGE_MAX_CHARS + 1))

    assert response.status_code == 413
    assert response.json()["error"]["max_chars"] == settings.CHATDIRECT_MESSAGE_MAX_CHARS


async def test_an_empty_message_is_a_clear_400(widget_visitor):
    await widget_visitor.start()

    response = await widget_visitor.say("   ")

    assert response.status_code == 400


async def test_visitor_rate_limit_answers_429_with_retry_after(
    widget_visitor, providers_on_fake, settings
):
    settings.CHATDIRECT_RATE_LIMITS = {**settings.CHATDIRECT_RATE_LIMITS, "visitor": (2, 60)}
    await widget_visitor.start()
    await widget_visitor.say("one")
    await widget_visitor.say("two")

    response = await widget_visitor.say("three")

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "too quickly" in response.json()["error"]["message"]


async def test_a_refused_message_does_not_use_up_the_visitors_allowance(
    widget_visitor, providers_on_fake, settings
):
    settings.CHATDIRECT_RATE_LIMITS = {**settings.CHATDIRECT_RATE_LIMITS, "visitor": (1, 60)}
    await widget_visitor.start()
    assert (await widget_visitor.say("   ")).status_code == 400
    assert (await widget_visitor.say("x" * 100_000)).status_code == 413

    assert (await widget_visitor.say("Now a real question")).json()["status"] == "answered"
    assert (await widget_visitor.say("And another")).status_code == 429


async def test_forged_tokens_still_count_against_the_address(widget_visitor, settings):
    settings.CHATDIRECT_RATE_LIMITS = {**settings.CHATDIRECT_RATE_LIMITS, "ip": (2, 60)}
    widget_visitor.token = "forged.token"

    statuses = [(await widget_visitor.say("hi")).status_code for _ in range(3)]

    assert statuses == [401, 401, 429]


async def test_a_resent_message_is_not_duplicated(widget_visitor, providers_on_fake):
    await widget_visitor.start()
    first = (await widget_visitor.say("Hello", client_message_id="c-1")).json()

    again = (await widget_visitor.say("Hello", client_message_id="c-1")).json()

    assert again["message"]["id"] == first["message"]["id"]
    assert again["reply"]["id"] == first["reply"]["id"]
    assert await Message.objects.acount() == 2
    assert len(providers_on_fake.requests_for("anthropic")) == 1


async def test_a_visitor_token_of_tenant_a_cannot_read_or_write_tenant_b(
    tenant_factory, providers_on_fake
):
    tenant_a = await _atenant(tenant_factory, "Shop A", ["https://a.example.com"])
    tenant_b = await _atenant(tenant_factory, "Shop B", ["https://b.example.com"])
    visitor_b = WidgetVisitor(AsyncClient(), tenant_b.widget_id, origin="https://b.example.com")
    await visitor_b.start()
    await visitor_b.say("B's secret order number is 4411")
    visitor_a = WidgetVisitor(AsyncClient(), tenant_a.widget_id, origin="https://a.example.com")
    await visitor_a.start()

    # The token names tenant A, whose allowed origins do not include B's website.
    visitor_a.origin = "https://b.example.com"
    assert (await visitor_a.poll()).status_code == 403
    visitor_a.origin = "https://a.example.com"
    listed = (await visitor_a.poll()).json()["messages"]
    assert listed == []
    # A's token resuming on B's widget gets a new B visitor, never B's existing one.
    visitor_a.widget_id, visitor_a.origin = tenant_b.widget_id, "https://b.example.com"
    resumed = await visitor_a.start()
    assert resumed["resumed"] is False
    assert (await visitor_a.poll()).json()["messages"] == []


async def _atenant(tenant_factory, name, origins):
    from asgiref.sync import sync_to_async

    return await sync_to_async(tenant_factory)(name=name, allowed_origins=origins)
