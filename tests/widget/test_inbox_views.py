"""The inbox page and the agent actions over HTTP, and that another tenant's agent gets nothing."""

import pytest
from django.urls import reverse

from conversations.models import Conversation, Message, Visitor
from tenants.models import Membership
from tenants.services import membership_set, user_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(tenant) -> Conversation:
    visitor = Visitor.objects.create(tenant=tenant, name="Quillon Marbleworth")
    conversation = Conversation.objects.create(
        tenant=tenant,
        visitor=visitor,
        mode="hybrid",
        handled_by=Conversation.Handler.QUEUE,
        status=Conversation.Status.PENDING,
    )
    Message.objects.create(
        tenant=tenant, conversation=conversation, author="visitor", text="Where is GlimmerParcel?"
    )
    return conversation


@pytest.fixture
def stranger(tenant_factory):
    other = tenant_factory(name="Other shop")
    user = user_create(username="stranger", email="s@example.com", password="pw-stranger-1!")
    membership_set(tenant=other, user=user, role=Membership.Role.OWNER)
    return user


def _post(client, conversation, action, **body):
    return client.post(
        f"/portal/inbox/{conversation.public_id}/{action}", body, content_type="application/json"
    )


def test_the_inbox_lists_open_conversations_with_queued_ones_marked(client, agent, queued):
    client.force_login(agent)

    response = client.get(reverse("inbox:inbox"))

    body = response.content.decode()
    assert response.status_code == 200
    assert "Quillon Marbleworth" in body and "Where is GlimmerParcel?" in body
    assert '"handled_by": "queue"' in body


def test_the_inbox_needs_a_sign_in(client):
    response = client.get("/portal/inbox/")

    assert response.status_code == 302 and "/login" in response["Location"]


def test_an_agent_takes_over_replies_hands_back_and_resolves(client, agent, queued):
    client.force_login(agent)

    taken = _post(client, queued, "take-over")
    replied = _post(client, queued, "reply", text="Hi, it ships today.")
    handed_back = _post(client, queued, "hand-back")
    resolved = _post(client, queued, "resolve")

    assert taken.json()["conversation"]["handled_by"] == "agent"
    assert replied.json()["message"]["author"] == "agent"
    assert handed_back.json()["conversation"]["handled_by"] == "bot"
    assert resolved.json()["conversation"]["status"] == "resolved"
    texts = list(queued.messages.values_list("author", "text"))
    assert ("agent", "Hi, it ships today.") in texts
    assert ("system", "This conversation was marked as resolved.") in texts


def test_a_reply_to_a_resolved_conversation_is_refused(client, agent, queued):
    client.force_login(agent)
    _post(client, queued, "resolve")

    response = _post(client, queued, "reply", text="Hello?")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conversation_closed"


def test_an_empty_reply_is_refused(client, agent, queued):
    client.force_login(agent)

    assert _post(client, queued, "reply", text="  ").status_code == 400


def test_hand_back_is_refused_in_human_mode(client, agent, queued):
    client.force_login(agent)
    Conversation.objects.filter(pk=queued.pk).update(mode="human")

    response = _post(client, queued, "hand-back")

    assert response.status_code == 409 and response.json()["error"]["code"] == "no_bot"


def test_another_tenants_agent_gets_404_everywhere_and_sees_nothing(client, stranger, queued):
    client.force_login(stranger)

    page = client.get("/portal/inbox/").content.decode()
    read = client.get(f"/portal/inbox/{queued.public_id}/messages")
    actions = [
        _post(client, queued, action, text="x").status_code
        for action in ("take-over", "reply", "hand-back", "resolve")
    ]

    assert "Quillon" not in page and "GlimmerParcel" not in page
    assert read.status_code == 404
    assert actions == [404, 404, 404, 404]
    queued.refresh_from_db()
    assert queued.handled_by == "queue" and queued.messages.count() == 1


def test_actions_need_post_and_csrf(agent, queued):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)

    assert client.get(f"/portal/inbox/{queued.public_id}/take-over").status_code == 405
    assert _post(client, queued, "take-over").status_code == 403
