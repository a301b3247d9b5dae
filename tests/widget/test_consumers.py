"""The widget and inbox websockets through the real ASGI application, engine, services and SDKs.

The channel layer is the configured one: Redis when REDIS_URL is set (CI), in-memory otherwise.
"""

import pytest
from channels.layers import get_channel_layer

from chatdirect.asyncdb import in_db_thread
from conversations.models import Conversation, Message
from conversations.services import (
    agent_reply_send,
    conversation_hand_back,
    conversation_resolve,
    conversation_take_over,
)
from tenants.models import ConversationCounter
from tests.widget.conftest import InboxAgent, SocketVisitor

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


async def _conversation(visitor: SocketVisitor) -> Conversation:
    return await Conversation.objects.select_related("tenant", "visitor").alatest("started")


async def test_a_reply_streams_token_by_token_over_the_websocket(tenant, providers_on_fake):
    providers_on_fake.reply_text = "We open at nine and close at six on weekdays."
    visitor = SocketVisitor(tenant.widget_id)
    await visitor.start()
    ready = await visitor.connect()

    await visitor.say("When do you open?", client_message_id="c-1")
    events = await visitor.receive_until("done")

    assert ready["type"] == "ready" and ready["conversation"] is None
    stored = [e for e in events if e["type"] == "message" and e["message"]["author"] == "visitor"]
    assert stored and stored[0]["message"]["client_message_id"] == "c-1"
    deltas = [e["text"] for e in events if e["type"] == "delta"]
    assert len(deltas) > 1
    assert "".join(deltas) == providers_on_fake.reply_text
    done = events[-1]
    assert done["status"] == "answered"
    assert done["reply"]["text"] == providers_on_fake.reply_text
    await visitor.close()


async def test_a_resent_message_after_reconnecting_is_not_answered_twice(tenant, providers_on_fake):
    visitor = SocketVisitor(tenant.widget_id)
    await visitor.start()
    await visitor.connect()
    await visitor.say("Hello", client_message_id="c-1")
    first = (await visitor.receive_until("done"))[-1]
    await visitor.close()

    await visitor.connect()
    await visitor.say("Hello", client_message_id="c-1")
    again = (await visitor.receive_until("done"))[-1]

    assert again["message"]["id"] == first["message"]["id"]
    assert again["reply"]["id"] == first["reply"]["id"]
    assert await Message.objects.acount() == 2
    assert len(providers_on_fake.requests_for("anthropic")) == 1
    await visitor.close()


async def test_a_disallowed_origin_is_closed_with_the_reason(tenant):
    intruder = SocketVisitor(tenant.widget_id, origin="https://evil.example.net")

    await intruder.connect(hello=False)

    assert await intruder.receive() == {"type": "error", "code": "origin_not_allowed"}
    closed = await intruder.socket.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4403}


async def test_a_forged_token_is_refused(tenant):
    visitor = SocketVisitor(tenant.widget_id)
    await visitor.start()
    visitor.http.token = visitor.http.token[:-2] + "xx"

    refused = await visitor.connect()

    assert refused == {"type": "error", "code": "invalid_visitor_token"}


async def test_a_token_of_another_tenant_is_refused(tenant_factory, providers_on_fake):
    tenant_a = await in_db_thread(tenant_factory)(name="Shop A")
    tenant_b = await in_db_thread(tenant_factory)(name="Shop B")
    visitor = SocketVisitor(tenant_a.widget_id)
    await visitor.start()
    visitor.widget_id = tenant_b.widget_id

    refused = await visitor.connect()

    assert refused["code"] == "invalid_visitor_token"


async def test_too_long_and_too_fast_messages_get_a_clear_error(
    tenant, providers_on_fake, settings
):
    settings.CHATDIRECT_RATE_LIMITS = {**settings.CHATDIRECT_RATE_LIMITS, "visitor": (1, 60)}
    visitor = SocketVisitor(tenant.widget_id)
    await visitor.start()
    await visitor.connect()

    await visitor.say("x" * (settings.CHATDIRECT_MESSAGE_MAX_CHARS + 1))
    too_long = (await visitor.receive_until("error"))[-1]
    await visitor.say("one")
    await visitor.receive_until("done")
    await visitor.say("two", client_message_id="c-2")
    # Events of the first reply may still be arriving; the refusal is the next error.
    too_fast = (await visitor.receive_until("error"))[-1]

    assert too_long["code"] == "message_too_long"
    assert too_long["max_chars"] == settings.CHATDIRECT_MESSAGE_MAX_CHARS
    assert too_fast["code"] == "rate_limited" and too_fast["retry_after"] > 0
    assert too_fast["client_message_id"] == "c-2"
    assert "too quickly" in too_fast["message"]
    assert not await Message.objects.filter(text="two").aexists()
    await visitor.close()


async def test_the_websocket_per_ip_limit_applies(tenant, providers_on_fake, settings):
    settings.CHATDIRECT_RATE_LIMITS = {**settings.CHATDIRECT_RATE_LIMITS, "ip": (3, 60)}
    visitor = SocketVisitor(tenant.widget_id)
    await visitor.start()  # one request from this IP

    await visitor.connect()  # two
    await visitor.say("one")  # three
    await visitor.receive_until("done")
    await visitor.say("two")
    refused = await visitor.wait_for("error")

    assert refused["code"] == "rate_limited"
    await visitor.close()


async def test_hybrid_visitor_asks_for_a_person_and_agents_see_it_queued(
    hybrid_tenant, agent_of, providers_on_fake
):
    agent = await in_db_thread(agent_of)(hybrid_tenant)
    inbox = InboxAgent(agent)
    assert await inbox.connect()
    presence = await inbox.receive()
    visitor = SocketVisitor(hybrid_tenant.widget_id)
    session = await visitor.start()
    await visitor.connect()
    await visitor.say("Do you ship to Québec?")
    await visitor.receive_until("done")

    response = await visitor.http.client.post(
        "/api/widget/v1/handoff",
        {},
        content_type="application/json",
        headers=visitor.http._headers(),
    )
    widget_events = await visitor.receive_until("conversation", conversation__handled_by="queue")
    inbox_events = await inbox.receive_until("conversation", conversation__handled_by="queue")

    assert presence == {"type": "presence", "agents_online": 1}
    assert session["agents_online"] is True and session["mode"] == "hybrid"
    body = response.json()
    assert response.status_code == 200
    assert body["agents_online"] is True
    assert body["conversation"]["handled_by"] == "queue"
    assert "member of our team" in body["notice"]["text"]
    queued = inbox_events[-1]["conversation"]
    assert queued["status"] == "pending" and queued["handoff_requested_at"]
    inbox_texts = [e["message"]["text"] for e in inbox_events if e["type"] == "message"]
    assert "Do you ship to Québec?" in inbox_texts
    assert widget_events[-1]["conversation"]["status"] == "pending"
    await visitor.close()
    await inbox.close()


async def test_an_agent_takes_over_replies_live_and_the_bot_stays_silent(
    hybrid_tenant, agent_of, providers_on_fake
):
    agent = await in_db_thread(agent_of)(hybrid_tenant)
    visitor = SocketVisitor(hybrid_tenant.widget_id)
    await visitor.start()
    await visitor.connect()
    await visitor.say("Hello")
    await visitor.receive_until("done")
    conversation = await _conversation(visitor)

    await in_db_thread(conversation_take_over)(
        tenant=hybrid_tenant, conversation=conversation, agent=agent
    )
    taken = await visitor.wait_for("conversation", conversation__handled_by="agent")
    joined = await visitor.wait_for("message", message__author="system")
    await in_db_thread(agent_reply_send)(
        tenant=hybrid_tenant, conversation=conversation, agent=agent, text="Hi, Sam here!"
    )
    reply = await visitor.wait_for("message", message__author="agent")
    await visitor.say("Great, thanks")
    after = await visitor.receive_until("done")

    assert taken["conversation"]["agent_name"] == "Sam"
    assert joined["message"]["text"] == "Sam joined the conversation."
    assert reply["message"]["text"] == "Hi, Sam here!"
    assert reply["message"]["agent_name"] == "Sam"
    assert after[-1]["status"] == "queued" and after[-1]["reply"] is None
    assert not [e for e in after if e["type"] == "delta"]
    assert len(providers_on_fake.requests_for("anthropic")) == 1
    await visitor.close()


async def test_handing_back_lets_the_bot_answer_again(hybrid_tenant, agent_of, providers_on_fake):
    agent = await in_db_thread(agent_of)(hybrid_tenant)
    visitor = SocketVisitor(hybrid_tenant.widget_id)
    await visitor.start()
    await visitor.connect()
    await visitor.say("Hello")
    await visitor.receive_until("done")
    conversation = await _conversation(visitor)
    await in_db_thread(conversation_take_over)(
        tenant=hybrid_tenant, conversation=conversation, agent=agent
    )

    await in_db_thread(conversation_hand_back)(
        tenant=hybrid_tenant, conversation=conversation, agent=agent
    )
    back = await visitor.receive_until("conversation", conversation__handled_by="bot")
    await visitor.say("And what about returns?")
    answered = await visitor.receive_until("done")

    assert back[-1]["conversation"]["status"] == "open"
    assert answered[-1]["status"] == "answered"
    assert [e for e in answered if e["type"] == "delta"]
    await visitor.close()


async def test_a_bot_reply_that_cannot_help_hands_over_in_hybrid(hybrid_tenant, providers_on_fake):
    providers_on_fake.reply_text = (
        "I'm sorry, I can't help with that, but a member of the team can take over."
    )
    visitor = SocketVisitor(hybrid_tenant.widget_id)
    await visitor.start()
    await visitor.connect()

    await visitor.say("Can you fix my invoice?")
    await visitor.receive_until("done")
    queued = await visitor.wait_for("conversation", conversation__handled_by="queue")
    notice = await visitor.wait_for("message", message__author="system")

    conversation = await _conversation(visitor)
    assert conversation.handled_by == "queue" and conversation.status == "pending"
    assert queued["conversation"]["status"] == "pending"
    assert "member of our team" in notice["message"]["text"]
    await visitor.close()


async def test_a_provider_failure_in_hybrid_queues_the_conversation_live(
    hybrid_tenant, providers_on_fake
):
    providers_on_fake.inject("anthropic", "server_error", times=None)
    visitor = SocketVisitor(hybrid_tenant.widget_id)
    await visitor.start()
    await visitor.connect()

    await visitor.say("Hello?")
    done = (await visitor.receive_until("done"))[-1]
    queued = await visitor.wait_for("conversation", conversation__handled_by="queue")

    assert done["status"] == "queued"
    assert done["reply"]["author"] == "system"
    assert queued["conversation"]["status"] == "pending"
    await visitor.close()


async def test_human_mode_visitor_is_told_no_one_is_online_and_can_leave_contact(
    human_tenant, providers_on_fake
):
    visitor = SocketVisitor(human_tenant.widget_id)
    session = await visitor.start()
    await visitor.connect()
    await visitor.say("Is anyone there?")
    done = (await visitor.receive_until("done"))[-1]

    response = await visitor.http.client.post(
        "/api/widget/v1/contact",
        {"name": "Ana", "email": "ana@example.com", "message": "Call me back"},
        content_type="application/json",
        headers=visitor.http._headers(),
    )

    assert session["mode"] == "human" and session["agents_online"] is False
    assert done["status"] == "queued" and done["reply"] is None
    assert response.status_code == 200
    conversation = await _conversation(visitor)
    assert conversation.status == "pending"
    assert conversation.visitor.email == "ana@example.com"
    texts = [
        m
        async for m in Message.objects.filter(conversation=conversation).values_list(
            "text", flat=True
        )
    ]
    assert "Call me back" in texts
    assert not providers_on_fake.requests_for("anthropic")
    await visitor.close()


async def test_contact_without_email_or_phone_is_refused(human_tenant):
    visitor = SocketVisitor(human_tenant.widget_id)
    await visitor.start()

    response = await visitor.http.client.post(
        "/api/widget/v1/contact",
        {"name": "Ana"},
        content_type="application/json",
        headers=visitor.http._headers(),
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "contact_missing"


async def test_resolving_ends_the_conversation_and_the_next_message_starts_a_new_one(
    tenant, agent_of, providers_on_fake
):
    agent = await in_db_thread(agent_of)(tenant)
    visitor = SocketVisitor(tenant.widget_id)
    await visitor.start()
    await visitor.connect()
    await visitor.say("Hello")
    await visitor.receive_until("done")
    first = await _conversation(visitor)

    await in_db_thread(conversation_resolve)(tenant=tenant, conversation=first, agent=agent)
    resolved = await visitor.receive_until("conversation", conversation__status="resolved")
    await visitor.say("One more thing")
    done = (await visitor.receive_until("done"))[-1]

    assert resolved[-1]["conversation"]["id"] == str(first.public_id)
    second = await _conversation(visitor)
    assert second.pk != first.pk and done["status"] == "answered"
    await visitor.close()


async def test_an_agents_first_reply_counts_the_conversation_once(
    human_tenant, agent_of, providers_on_fake
):
    agent = await in_db_thread(agent_of)(human_tenant)
    visitor = SocketVisitor(human_tenant.widget_id)
    await visitor.start()
    await visitor.connect()
    await visitor.say("Hello")
    await visitor.receive_until("done")
    conversation = await _conversation(visitor)

    for text in ("Hi!", "How can I help?"):
        await in_db_thread(agent_reply_send)(
            tenant=human_tenant, conversation=conversation, agent=agent, text=text
        )

    counter = await ConversationCounter.objects.aget(tenant=human_tenant)
    assert counter.platform_conversations == 1
    await visitor.close()


async def test_an_agent_at_the_cap_still_replies_uncounted(
    tenant_factory, plan_pro, agent_of, providers_on_fake
):
    plan_pro.monthly_conversation_cap = 0
    await plan_pro.asave()
    tenant = await in_db_thread(tenant_factory)(name="Capped", chat_mode="hybrid")
    agent = await in_db_thread(agent_of)(tenant)
    visitor = SocketVisitor(tenant.widget_id)
    await visitor.start()
    await visitor.connect()
    await visitor.say("Hello")
    capped = (await visitor.receive_until("done"))[-1]
    conversation = await _conversation(visitor)

    await in_db_thread(agent_reply_send)(
        tenant=tenant, conversation=conversation, agent=agent, text="We're here."
    )
    reply = await visitor.receive_until("message", message__author="agent")

    assert capped["status"] == "capped"
    assert reply[-1]["message"]["text"] == "We're here."
    await conversation.arefresh_from_db()
    assert conversation.counted_period is None and not conversation.counted_toward_cap
    await visitor.close()


async def test_other_tabs_of_the_same_visitor_see_the_finished_reply(tenant, providers_on_fake):
    first_tab = SocketVisitor(tenant.widget_id)
    await first_tab.start()
    await first_tab.connect()
    second_tab = SocketVisitor(tenant.widget_id)
    second_tab.http.token = first_tab.http.token
    await second_tab.connect()

    await first_tab.say("Hello")
    await first_tab.receive_until("done")
    seen = await second_tab.receive_until("message", message__author="bot")

    assert seen[-1]["message"]["text"] == "Hello from the fake anthropic."
    await first_tab.close()
    await second_tab.close()


async def test_an_inbox_socket_needs_a_signed_in_member(tenant_factory, agent_of):
    stranger_tenant = await in_db_thread(tenant_factory)(name="Other")
    member = InboxAgent(await in_db_thread(agent_of)(stranger_tenant))

    assert await member.connect()
    assert await InboxAgent(None).connect() is False
    await member.close()


async def test_an_inbox_socket_from_a_foreign_origin_is_refused(tenant, agent_of):
    agent = await in_db_thread(agent_of)(tenant)

    foreign = InboxAgent(agent, host="https://evil.example.net")

    assert await foreign.connect() is False


async def test_an_inbox_of_tenant_b_never_sees_tenant_a_events(
    tenant_factory, agent_of, providers_on_fake
):
    tenant_a = await in_db_thread(tenant_factory)(name="Shop A")
    tenant_b = await in_db_thread(tenant_factory)(name="Shop B")
    inbox_b = InboxAgent(await in_db_thread(agent_of)(tenant_b))
    assert await inbox_b.connect()
    await inbox_b.receive()  # presence
    visitor = SocketVisitor(tenant_a.widget_id)
    await visitor.start()
    await visitor.connect()

    await visitor.say("A's secret order 4411")
    await visitor.receive_until("done")

    assert await inbox_b.socket.receive_nothing(timeout=0.5)
    await visitor.close()
    await inbox_b.close()


@pytest.mark.redis
async def test_events_cross_processes_through_the_redis_channel_layer(
    hybrid_tenant, agent_of, providers_on_fake
):
    """In CI the layer is Redis: the inbox and the widget meet only through it."""
    from channels_redis.core import RedisChannelLayer

    assert isinstance(get_channel_layer(), RedisChannelLayer)
    agent = await in_db_thread(agent_of)(hybrid_tenant)
    inbox = InboxAgent(agent)
    assert await inbox.connect()
    visitor = SocketVisitor(hybrid_tenant.widget_id)
    await visitor.start()
    await visitor.connect()
    await visitor.say("Hello")
    await visitor.receive_until("done")
    conversation = await _conversation(visitor)

    await in_db_thread(agent_reply_send)(
        tenant=hybrid_tenant, conversation=conversation, agent=agent, text="Hello from Sam"
    )

    assert (await visitor.receive_until("message", message__author="agent"))[-1]["message"][
        "text"
    ] == "Hello from Sam"
    assert (await inbox.receive_until("message", message__author="agent"))[-1][
        "conversation_id"
    ] == str(conversation.public_id)
    await visitor.close()
    await inbox.close()
