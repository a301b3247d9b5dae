"""Every portal URL pattern, requested by tenant B's owner with tenant A's ids: no A data, ever.

The patterns come from the URL resolver, so a page added later is covered without editing this
test; a pattern with a URL argument this test does not know how to fill makes it fail loudly.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

NAMESPACES = ("portal", "consumption", "inbox")
# Auth pages a signed-in user may still open: they show no tenant data by construction.
PUBLIC_NAMES = {"login", "password_reset", "password_reset_done", "password_reset_complete"}


def portal_patterns() -> list[tuple[str, str, URLPattern]]:
    """(namespace:name, route, pattern) for every pattern below the portal's namespaces."""
    found = []

    def walk(resolver: URLResolver, prefix: str, namespace: str) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                walk(entry, prefix + str(entry.pattern), entry.namespace or namespace)
            elif namespace in NAMESPACES:
                found.append((f"{namespace}:{entry.name}", prefix + str(entry.pattern), entry))

    walk(get_resolver(), "/", "")
    return found


def _kwargs_for(pattern: URLPattern, a) -> dict[str, str]:
    conversation = a.conversations[0]
    values = {
        "conversation_id": str(conversation.public_id),
        "uidb64": urlsafe_base64_encode(force_bytes(a.owner.pk)),
        "token": "set-password",  # what Django redirects a valid link to; no valid token for B
        "pk": str(conversation.pk),
        "id": str(conversation.pk),
        "tenant_id": str(a.tenant.pk),
        "slug": a.tenant.slug,
    }
    names = list(pattern.pattern.converters)
    unknown = [name for name in names if name not in values]
    assert not unknown, f"teach this test how to fill {unknown} for {pattern.pattern}"
    return {name: values[name] for name in names}


def _url(route: str, kwargs: dict[str, str]) -> str:
    import re

    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: kwargs[m.group(1)], route)


def _assert_no_a_data(response, a, where: str, *, echoed: str = "") -> None:
    body = response.content.decode(errors="replace")
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    for secret in a.secrets + [str(c.public_id) for c in a.conversations]:
        if secret == echoed:
            continue  # the search box shows what B typed
        assert secret not in body, f"{where} shows tenant A's {secret!r}"
        assert secret not in headers, f"{where} headers carry tenant A's {secret!r}"


@pytest.mark.django_db
def test_the_walk_covers_the_portal():
    names = {name for name, _, _ in portal_patterns()}
    assert {
        "portal:overview",
        "portal:conversations",
        "portal:conversation",
        "portal:identity",
        "portal:widget",
        "portal:plan",
        "portal:provider-models",
    } <= names


@pytest.mark.django_db
def test_tenant_b_owner_sees_no_tenant_a_data_on_any_portal_url(client, two_workspaces):
    a, b = two_workspaces
    client.force_login(b.owner)
    own = client.get("/portal/identity/")
    assert b.hint in own.content.decode()  # B's own data is there, so absence below means something

    for name, route, pattern in portal_patterns():
        kwargs = _kwargs_for(pattern, a)
        url = _url(route, kwargs)
        response = client.get(url, {"provider": "anthropic"} if name.endswith("models") else {})
        _assert_no_a_data(response, a, f"GET {url}")
        if "conversation_id" in kwargs:
            posted = client.post(url)
            _assert_no_a_data(posted, a, f"POST {url}")
            # POST-only actions (take over, reply…) refuse a GET before looking anything up; the
            # method they serve must then answer 404 like a missing conversation.
            answers = (response.status_code, posted.status_code)
            assert 404 in answers and set(answers) <= {404, 405}, f"{url} answered {answers}"
        elif name.split(":")[1] not in PUBLIC_NAMES:
            assert response.status_code in (200, 302, 405), (
                f"GET {url} answered {response.status_code}"
            )


@pytest.mark.django_db
def test_searching_for_tenant_a_words_finds_nothing_for_b(client, two_workspaces):
    a, b = two_workspaces
    client.force_login(b.owner)
    for term in ("GlimmerAParcel", "QuillonA Marbleworth", "quillona@visitor.example"):
        response = client.get("/portal/conversations/", {"q": term})
        assert response.status_code == 200
        assert "No conversation matches" in response.content.decode()
        _assert_no_a_data(response, a, f"search {term}", echoed=term)


@pytest.mark.django_db
def test_a_conversation_of_another_tenant_answers_404_like_a_missing_one(client, two_workspaces):
    a, b = two_workspaces
    client.force_login(b.owner)
    other = client.get(f"/portal/conversations/{a.conversations[0].public_id}/")
    missing = client.get("/portal/conversations/00000000-0000-4000-8000-000000000000/")
    own = client.get(f"/portal/conversations/{b.conversations[0].public_id}/")
    assert (other.status_code, missing.status_code, own.status_code) == (404, 404, 200)
    assert "GlimmerBParcel" in own.content.decode()


@pytest.mark.django_db
def test_switching_to_a_tenant_without_membership_is_refused(client, two_workspaces):
    a, b = two_workspaces
    client.force_login(b.owner)
    response = client.post("/portal/switch/", {"tenant_id": a.tenant.pk})
    assert response.status_code == 404
    assert a.tenant.name not in client.get("/portal/").content.decode()


@pytest.mark.django_db
def test_password_reset_link_for_another_user_is_not_usable_without_its_token(
    client, two_workspaces
):
    a, b = two_workspaces
    uid = urlsafe_base64_encode(force_bytes(a.owner.pk))
    wrong = default_token_generator.make_token(b.owner)
    response = client.get(f"/portal/password-reset/{uid}/{wrong}/", follow=True)
    assert "This link no longer works" in response.content.decode()
