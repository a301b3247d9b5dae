"""The widget's HTTP fallbacks and its hand-off and contact endpoints."""

import asyncio

import pytest

from chatdirect.asyncdb import in_db_thread
from conversations.models import Conversation
from conversations.services import agent_reply_send
from tests.widget.conftest import SocketVisitor

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


async def _post(visitor: SocketVisitor, path: str, body: dict):
    return await visitor.http.client.post(
        f"/api/widget/v1/{path}",
        body,
        content_type="application/json",
        headers=visitor.http._headers(),
    )


async def test_agent_messages_reach_a_visitor_over_server_sent_events(
    hybrid_tenant, agent_of, providers_on_fake
):
    agent = await in_db_thread(agent_of)(hybrid_tenant)
    visitor = SocketVisitor(hybrid_tenant.widget_id)
    await visitor.start()
    await visitor.http.say("Hello")
    conversation = await Conversation.objects.aget(tenant=hybrid_tenant)
    response = await visitor.http.client.get("/api/widget/v1/live", headers=visitor.http._headers())
    stream = response.streaming_content.__aiter__()
    assert await anext(stream) == b": connected\n\n"

    await in_db_thread(agent_reply_send)(
        tenant=hybrid_tenant, conversation=conversation, agent=agent, text="Hi from Sam"
    )
    received = b""
    while b"Hi from Sam" not in received:
        received += await asyncio.wait_for(anext(stream), 5)
    await stream.aclose()

    assert response["Content-Type"] == "text/event-stream"
    assert b"event: message\ndata: " in received
    assert b'"agent_name":"Sam"' in received


async def test_the_event_stream_refuses_other_origins(tenant):
    visitor = SocketVisitor(tenant.widget_id)
    await visitor.start()
    visitor.http.origin = "https://evil.example.net"

    response = await visitor.http.client.get("/api/widget/v1/live", headers=visitor.http._headers())

    assert response.status_code == 403


async def test_talk_to_a_person_with_nobody_online_offers_the_contact_form(
    hybrid_tenant, providers_on_fake
):
    visitor = SocketVisitor(hybrid_tenant.widget_id)
    await visitor.start()

    response = await _post(visitor, "handoff", {})
    again = await _post(visitor, "handoff", {})

    body = response.json()
    assert body["agents_online"] is False
    assert body["conversation"]["handled_by"] == "queue"
    assert "Leave your contact details" in body["notice"]["text"]
    assert again.json()["notice"] is None  # asking twice changes nothing


async def test_handoff_needs_a_visitor_token(hybrid_tenant):
    visitor = SocketVisitor(hybrid_tenant.widget_id)

    response = await _post(visitor, "handoff", {})

    assert response.status_code == 401


async def test_a_french_page_gets_french_notices_when_the_bot_speaks_french(
    hybrid_tenant, providers_on_fake
):
    from conversations.services.identity import bot_identity_update

    await in_db_thread(bot_identity_update)(tenant=hybrid_tenant, language="fr")
    visitor = SocketVisitor(hybrid_tenant.widget_id)
    session = await visitor.start(locale="fr-CA")

    body = (await _post(visitor, "handoff", {})).json()

    assert session["locale"] == "fr"
    assert "Laissez vos coordonnées" in body["notice"]["text"]


async def test_contact_details_are_validated(human_tenant):
    visitor = SocketVisitor(human_tenant.widget_id)
    await visitor.start()

    bad_email = await _post(visitor, "contact", {"email": "not-an-email"})
    too_long = await _post(visitor, "contact", {"email": "a@example.com", "name": "x" * 500})

    assert bad_email.status_code == 400 and bad_email.json()["error"]["code"] == "bad_email"
    assert too_long.status_code == 413


async def test_the_session_says_whether_agents_are_online(human_tenant, agent_of):
    from tests.widget.conftest import InboxAgent

    inbox = InboxAgent(await in_db_thread(agent_of)(human_tenant))
    assert await inbox.connect()
    visitor = SocketVisitor(human_tenant.widget_id)

    online = await visitor.start()
    await inbox.close()
    offline = await SocketVisitor(human_tenant.widget_id).start()

    assert online["agents_online"] is True
    assert offline["agents_online"] is False
