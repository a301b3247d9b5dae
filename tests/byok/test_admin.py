"""The admin-managed key on the Tenant admin page, and the credential and audit admin pages."""

import re

import pytest

from byok.models import KeyAuditEvent, ProviderCredential
from byok.services import credential_reveal_for_call, credential_set
from tests.byok.test_leaks import _tenant_change_post
from tests.fakes.provider_server import FakeProviderServer

pytestmark = pytest.mark.django_db

ADMIN_KEY = "sk-ant-api03-admin-managed-key-000000000000a1b2"
OPENAI_KEY = "sk-proj-admin-managed-openai-key-0000000000c3d4"


@pytest.fixture
def providers(settings):
    with FakeProviderServer() as server:
        settings.CHATDIRECT_PROVIDER_BASE_URLS = {
            name: server.url(name) for name in ("anthropic", "openai", "google", "mistral")
        }
        server.add_key("anthropic", ADMIN_KEY)
        server.add_key("openai", OPENAI_KEY)
        yield server


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def _change_url(tenant):
    return f"/admin/tenants/tenant/{tenant.pk}/change/"


def _post(client, tenant, **fields):
    return client.post(
        _change_url(tenant), _tenant_change_post(client, tenant, **fields), follow=True
    )


def test_admin_sets_the_key_on_the_tenant_page(admin_client, superuser, tenant, providers):
    response = _post(
        admin_client,
        tenant,
        api_key_mode="admin",
        admin_key_provider="anthropic",
        admin_key_model="claude-haiku-4-5",
        admin_key=ADMIN_KEY,
    )

    assert response.redirect_chain[-1][0] == "/admin/tenants/tenant/"
    credential = ProviderCredential.objects.get(tenant=tenant, source="admin")
    assert (credential.provider, credential.model, credential.status) == (
        "anthropic",
        "claude-haiku-4-5",
        "valid",
    )
    with credential_reveal_for_call(credential=credential) as api_key:
        assert api_key == ADMIN_KEY
    event = KeyAuditEvent.objects.get()
    assert (event.action, event.actor, event.source) == ("set", superuser, "admin")
    tenant.refresh_from_db()
    assert tenant.api_key_mode == "admin"


def test_key_field_is_write_only(admin_client, tenant, providers, superuser):
    credential_set(
        tenant=tenant,
        source="admin",
        provider="anthropic",
        model="claude-haiku-4-5",
        api_key=ADMIN_KEY,
        actor=superuser,
    )

    html = admin_client.get(_change_url(tenant)).content.decode()

    field = re.search(r'<input[^>]*name="admin_key"[^>]*>', html).group(0)
    assert 'type="password"' in field and "value=" not in field
    assert "sk-ant-…a1b2" in html  # the hint, for admins only
    assert 'value="claude-haiku-4-5"' in html


def test_refused_key_keeps_the_tenant_edits_and_says_why(admin_client, tenant, providers):
    response = _post(
        admin_client,
        tenant,
        name="Acme Renamed",
        admin_key_provider="anthropic",
        admin_key_model="claude-haiku-4-5",
        admin_key="sk-ant-api03-a-key-nobody-issued-000000000000",
    )

    assert response.redirect_chain[-1][0] == _change_url(tenant)
    html = response.content.decode()
    assert "The admin-managed key was not saved: Anthropic did not accept this API key" in html
    assert not ProviderCredential.objects.exists()
    assert KeyAuditEvent.objects.get().action == "failed_validation"
    tenant.refresh_from_db()
    assert tenant.name == "Acme Renamed"


def test_admin_changes_only_the_model(admin_client, tenant, providers, superuser):
    credential_set(
        tenant=tenant,
        source="admin",
        provider="anthropic",
        model="claude-haiku-4-5",
        api_key=ADMIN_KEY,
        actor=superuser,
    )
    sealed = ProviderCredential.objects.get().sealed_key

    _post(admin_client, tenant, admin_key_model="claude-sonnet-4-5")

    credential = ProviderCredential.objects.get()
    assert credential.model == "claude-sonnet-4-5"
    assert credential.sealed_key == sealed


def test_switching_provider_needs_the_new_providers_key(admin_client, tenant, providers, superuser):
    credential_set(
        tenant=tenant,
        source="admin",
        provider="anthropic",
        model="claude-haiku-4-5",
        api_key=ADMIN_KEY,
        actor=superuser,
    )

    response = _post(admin_client, tenant, admin_key_provider="openai", admin_key_model="gpt-4o")

    assert "A new provider needs its own API key" in response.content.decode()
    assert ProviderCredential.objects.get().provider == "anthropic"

    _post(
        admin_client,
        tenant,
        admin_key_provider="openai",
        admin_key_model="gpt-4o",
        admin_key=OPENAI_KEY,
    )
    assert ProviderCredential.objects.get().provider == "openai"
    assert KeyAuditEvent.objects.first().action == "replaced"


def test_admin_removes_the_key(admin_client, tenant, providers, superuser):
    credential_set(
        tenant=tenant,
        source="admin",
        provider="anthropic",
        model="claude-haiku-4-5",
        api_key=ADMIN_KEY,
        actor=superuser,
    )

    response = _post(admin_client, tenant, admin_key_remove="on")

    assert "The admin-managed key was removed." in response.content.decode()
    assert not ProviderCredential.objects.exists()
    assert KeyAuditEvent.objects.first().action == "removed"


def test_entering_a_key_and_removing_at_once_is_refused(admin_client, tenant, providers):
    response = _post(
        admin_client,
        tenant,
        admin_key_provider="anthropic",
        admin_key_model="claude-haiku-4-5",
        admin_key=ADMIN_KEY,
        admin_key_remove="on",
    )

    assert "Either enter a new key or remove the key" in response.content.decode()
    assert not ProviderCredential.objects.exists()


def test_credential_admin_is_read_only_and_deletes_through_the_service(
    admin_client, tenant, providers, superuser
):
    credential = credential_set(
        tenant=tenant,
        source="admin",
        provider="anthropic",
        model="claude-haiku-4-5",
        api_key=ADMIN_KEY,
        actor=superuser,
    )
    listing = admin_client.get("/admin/byok/providercredential/").content.decode()
    assert "sk-ant-…a1b2" in listing
    assert admin_client.get("/admin/byok/providercredential/add/").status_code == 403
    page = admin_client.get(f"/admin/byok/providercredential/{credential.pk}/change/")
    assert page.status_code == 200
    assert 'name="model"' not in page.content.decode()  # view only

    admin_client.post(
        f"/admin/byok/providercredential/{credential.pk}/delete/", {"post": "yes"}, follow=True
    )

    assert not ProviderCredential.objects.exists()
    assert KeyAuditEvent.objects.first().action == "removed"
    assert admin_client.get("/admin/byok/keyauditevent/").status_code == 200
    assert admin_client.get("/admin/byok/keyauditevent/add/").status_code == 403
