"""Who may open what: anonymous users sign in first, agents see conversations, owners everything."""

import pytest

from tenants.models import Membership
from tenants.services import membership_set, user_create

pytestmark = pytest.mark.django_db

OWNER_PAGES = [
    ("get", "/portal/identity/"),
    ("post", "/portal/identity/"),
    ("post", "/portal/identity/provider/"),
    ("get", "/portal/identity/provider/models/?provider=openai"),
    ("post", "/portal/identity/provider/test/"),
    ("post", "/portal/identity/provider/remove/"),
    ("get", "/portal/widget/"),
    ("post", "/portal/widget/"),
    ("get", "/portal/plan/"),
]
SHARED_PAGES = ["/portal/", "/portal/conversations/"]


@pytest.mark.parametrize(("method", "url"), OWNER_PAGES)
def test_agents_get_403_on_owner_pages(client, two_workspaces, method, url):
    a, _ = two_workspaces
    client.force_login(a.agent)
    response = getattr(client, method)(url)
    assert response.status_code == 403


def test_agents_see_conversations_but_no_owner_navigation(client, two_workspaces):
    a, _ = two_workspaces
    client.force_login(a.agent)
    for url in [*SHARED_PAGES, f"/portal/conversations/{a.conversations[0].public_id}/"]:
        assert client.get(url).status_code == 200, url
    html = client.get("/portal/").content.decode()
    assert 'href="/portal/conversations/"' in html
    for owner_link in (
        'href="/portal/identity/"',
        'href="/portal/widget/"',
        'href="/portal/plan/"',
    ):
        assert owner_link not in html


def test_owners_see_every_page(client, two_workspaces):
    a, _ = two_workspaces
    client.force_login(a.owner)
    for url in [*SHARED_PAGES, "/portal/identity/", "/portal/widget/", "/portal/plan/"]:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    "url",
    [
        "/portal/",
        "/portal/conversations/",
        "/portal/conversations/00000000-0000-4000-8000-000000000000/",
        "/portal/identity/",
        "/portal/widget/",
        "/portal/plan/",
        "/portal/identity/provider/models/",
    ],
)
def test_anonymous_users_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/portal/login/?next=")


def test_anonymous_posts_do_not_reach_key_views(client, provider_urls):
    response = client.post("/portal/identity/provider/", {"api_key": "sk-ant-whatever-000000"})
    assert response.status_code == 302
    assert not provider_urls.requests


def test_a_user_without_a_workspace_gets_404(client):
    loner = user_create(username="loner", email="loner@example.com", password="pw-loner-123!")
    client.force_login(loner)
    assert client.get("/portal/").status_code == 404


def test_the_role_follows_the_selected_workspace(client, two_workspaces):
    a, b = two_workspaces
    membership_set(tenant=b.tenant, user=a.owner, role=Membership.Role.AGENT)
    client.force_login(a.owner)
    assert client.get("/portal/identity/").status_code == 200

    switched = client.post("/portal/switch/", {"tenant_id": b.tenant.pk})

    assert switched.status_code == 302
    assert client.get("/portal/identity/").status_code == 403
    html = client.get("/portal/").content.decode()
    assert 'name="tenant_id"' in html and b.tenant.name in html


def test_sign_in_and_out_through_the_forms(client, two_workspaces):
    from tests.portal.conftest import PASSWORD

    a, _ = two_workspaces
    page = client.post("/portal/login/", {"username": "ownera", "password": PASSWORD}, follow=True)
    assert page.redirect_chain[-1][0] == "/portal/"
    assert a.tenant.name in page.content.decode()
    client.post("/portal/logout/")
    assert client.get("/portal/").status_code == 302


def test_a_wrong_password_says_so(client, two_workspaces):
    page = client.post("/portal/login/", {"username": "ownera", "password": "nope"})
    assert "did not match" in page.content.decode()


def test_every_portal_form_carries_a_csrf_token(client, two_workspaces):
    a, _ = two_workspaces
    client.force_login(a.owner)
    for url in ["/portal/", "/portal/conversations/", "/portal/identity/", "/portal/widget/"]:
        html = client.get(url).content.decode()
        posts = html.count('method="post"')
        assert posts and html.count('name="csrfmiddlewaretoken"') == posts, url


def test_posts_without_a_csrf_token_are_refused(two_workspaces):
    from django.test import Client

    a, _ = two_workspaces
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(a.owner)
    assert strict.post("/portal/identity/", {"name": "Bob"}).status_code == 403
    assert strict.post("/portal/identity/provider/remove/").status_code == 403
