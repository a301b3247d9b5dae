"""Overview, conversations, transcript, plan, widget and password reset pages."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from tests.portal.conftest import conversation_make

pytestmark = pytest.mark.django_db


def test_the_conversation_list_shows_what_a_support_lead_needs(client, two_workspaces):
    a, _ = two_workspaces
    client.force_login(a.agent)
    html = client.get("/portal/conversations/").content.decode()
    for column in (
        "Status",
        "Visitor",
        "Started",
        "Messages",
        "Provider / model",
        "Counted toward cap",
    ):
        assert column in html
    assert "QuillonA Marbleworth" in html and "BrisbyA Tallowfen" in html
    assert "claude-haiku-4-5" in html and "Waiting for a person" in html
    assert "No · own key" in html and ">Yes<" in html


def test_the_list_filters_by_status_and_searches_messages(client, two_workspaces):
    a, _ = two_workspaces
    client.force_login(a.owner)
    pending = client.get("/portal/conversations/", {"status": "pending"}).content.decode()
    assert "BrisbyA Tallowfen" in pending and "QuillonA Marbleworth" not in pending
    found = client.get("/portal/conversations/", {"q": "glimmeraparcel"})
    assert [c.visitor.name for c in found.context["page"].object_list] == ["QuillonA Marbleworth"]
    assert found.context["page"].object_list[0].messages_total == 2  # the search join adds none


def test_the_list_is_paginated_and_keeps_the_filters(client, tenant, owner):
    for n in range(30):
        conversation_make(tenant=tenant, visitor_name=f"Visitor {n:02}", texts=["hi", "hello"])
    client.force_login(owner)
    first = client.get("/portal/conversations/", {"status": "open"}).content.decode()
    assert "Page 1 of 2" in first and 'href="?status=open&amp;page=2"' in first
    second = client.get("/portal/conversations/", {"status": "open", "page": 2})
    assert len(second.context["page"].object_list) == 5


def test_the_transcript_shows_every_message_in_order(client, two_workspaces):
    a, _ = two_workspaces
    client.force_login(a.agent)
    conversation = a.conversations[0]
    html = client.get(f"/portal/conversations/{conversation.public_id}/").content.decode()
    question = html.index("Where is parcel GlimmerAParcel?")
    answer = html.index("Parcel GlimmerAParcel ships today.")
    assert question < answer
    assert "quillona@visitor.example" in html and "Counted toward cap" in html


def test_the_overview_counts_and_lists_recent_conversations(client, two_workspaces):
    a, _ = two_workspaces
    client.force_login(a.owner)
    response = client.get("/portal/")
    assert (response.context["open_count"], response.context["pending_count"]) == (1, 1)
    assert "QuillonA Marbleworth" in response.content.decode()


def test_the_plan_page_shows_usage_and_what_byok_changes(client, tenant, owner):
    client.force_login(owner)
    html = client.get("/portal/plan/").content.decode()
    assert "Pro · $69/month" in html
    assert 'role="progressbar"' in html and 'aria-valuenow="0"' in html
    assert "monthly cap of 1,000 conversations no longer applies" in html
    for plan in ("Starter", "Business", "Enterprise"):
        assert plan in html


def test_the_widget_page_gives_the_snippet_and_a_preview(client, tenant, owner, settings):
    settings.CHATDIRECT_PUBLIC_URL = "https://chat.example.net"
    client.force_login(owner)
    html = client.get("/portal/widget/").content.decode()
    assert (
        f"&lt;script src=&quot;https://chat.example.net/static/widget/chatdirect.js&quot; "
        f"data-widget-id=&quot;{tenant.widget_id}&quot; async&gt;&lt;/script&gt;"
    ) in html
    assert f'href="/demo/?tenant={tenant.slug}"' in html


def test_allowed_origins_are_edited_one_per_line(client, tenant, owner):
    client.force_login(owner)
    response = client.post(
        "/portal/widget/",
        {"allowed_origins": "https://Shop.Example.com/\n\nhttps://blog.example.com"},
        follow=True,
    )
    tenant.refresh_from_db()
    assert tenant.allowed_origins == ["https://blog.example.com", "https://shop.example.com"]
    assert "Allowed websites saved" in response.content.decode()


def test_a_wrong_origin_is_explained(client, tenant, owner):
    client.force_login(owner)
    html = client.post(
        "/portal/widget/", {"allowed_origins": "shop.example.com/page"}
    ).content.decode()
    assert "is not an origin" in html
    tenant.refresh_from_db()
    assert tenant.allowed_origins == ["https://shop.example.com"]


def test_password_reset_by_e_mail(client, owner, mailoutbox):
    sent = client.post("/portal/password-reset/", {"email": "owner@example.com"}, follow=True)
    assert "Check your e-mail" in sent.content.decode()
    link = re.search(r"http://testserver(/portal/password-reset/\S+/)", mailoutbox[0].body).group(1)

    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-pw-42", "new_password2": "a-brand-new-pw-42"},
        follow=True,
    )
    assert "Password changed" in done.content.decode()
    assert client.login(username="owner", password="a-brand-new-pw-42")


def test_the_sign_in_page_links_to_password_reset(client):
    assert 'href="/portal/password-reset/"' in client.get("/portal/login/").content.decode()


def test_times_are_shown_for_old_conversations(client, tenant, owner):
    conversation_make(
        tenant=tenant,
        visitor_name="Old Timer",
        texts=["hi"],
        started=timezone.now() - dt.timedelta(days=40),
    )
    client.force_login(owner)
    html = client.get("/portal/conversations/").content.decode()
    assert "Old Timer" in html and "1\xa0month" in html


def test_conversation_ids_that_are_not_uuids_do_not_resolve(client, tenant, owner):
    client.force_login(owner)
    assert client.get("/portal/conversations/123/").status_code == 404
