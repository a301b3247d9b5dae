"""Credential services: set, replace, remove, status, reveal, audit, and the one-key-per-source rule."""

import pytest
from django.db import IntegrityError, transaction

from byok import vault
from byok.models import KeyAuditEvent, KeySource, ProviderCredential
from byok.redaction import REDACTED, redact
from byok.selectors import credential_active, credential_get, credential_hint_for_client
from byok.services import (
    credential_mark_status,
    credential_remove,
    credential_reveal_for_call,
    credential_set,
    credential_verify,
    key_hint,
)
from chatdirect.errors import (
    ChatDirectError,
    InvalidProviderKey,
    ProviderKeyCheckUnavailable,
    ProviderQuotaExhausted,
)
from tests.fakes.provider_server import FakeProviderServer

pytestmark = pytest.mark.django_db

ANTHROPIC_KEY = "sk-ant-api03-credential-test-key-0000000000abcd"
OPENAI_KEY = "sk-proj-credential-test-key-00000000000000wxyz"


@pytest.fixture
def providers(settings):
    with FakeProviderServer() as server:
        settings.CHATDIRECT_PROVIDER_BASE_URLS = {
            name: server.url(name) for name in ("anthropic", "openai", "google", "mistral")
        }
        server.add_key("anthropic", ANTHROPIC_KEY)
        server.add_key("openai", OPENAI_KEY)
        yield server


def _set(tenant, actor, *, source="client", provider="anthropic", key=ANTHROPIC_KEY, model=None):
    return credential_set(
        tenant=tenant,
        source=source,
        provider=provider,
        model=model or {"anthropic": "claude-haiku-4-5", "openai": "gpt-4o-mini"}[provider],
        api_key=key,
        actor=actor,
    )


def test_set_checks_the_key_with_the_provider_and_stores_it_sealed(providers, tenant, owner):
    credential = _set(tenant, owner)

    assert credential.status == ProviderCredential.Status.VALID
    assert credential.last_verified_at is not None
    assert credential.hint == "sk-ant-…abcd"
    assert ANTHROPIC_KEY not in credential.sealed_key
    assert vault.record_key_id(credential.sealed_key) == vault.configured_keyring().current_key_id
    assert credential.created_by == owner == credential.updated_by
    sent = [r.api_key for r in providers.requests_for("anthropic")]
    assert sent == [ANTHROPIC_KEY]
    event = KeyAuditEvent.objects.get()
    assert (event.action, event.actor, event.hint, event.source) == (
        "set",
        owner,
        "sk-ant-…abcd",
        "client",
    )


def test_reveal_gives_the_key_for_one_call_and_registers_it_for_redaction(providers, tenant, owner):
    credential = _set(tenant, owner)

    with credential_reveal_for_call(credential=credential) as api_key:
        assert api_key == ANTHROPIC_KEY
        assert redact(f"oops {api_key[3:]}") == f"oops {api_key[3:]}"  # only whole keys match
        assert redact(f"oops {api_key}") == f"oops {REDACTED}"
        assert ANTHROPIC_KEY not in repr(credential_reveal_for_call(credential=credential))
    # Registered only while in use: an unshaped copy is no longer known to the registry.
    assert "credential-test-key" in redact("credential-test-key")


def test_reveal_refuses_a_record_copied_onto_another_tenant(providers, tenant_factory, owner):
    first, second = tenant_factory(), tenant_factory()
    credential = _set(first, owner)
    other = _set(second, owner, provider="openai", key=OPENAI_KEY)
    ProviderCredential.objects.filter(pk=other.pk).update(
        sealed_key=credential.sealed_key, provider="anthropic"
    )
    other.refresh_from_db()

    with pytest.raises(vault.AuthenticationFailed), credential_reveal_for_call(credential=other):
        pass


def test_replacing_updates_the_single_row_and_audits_the_replacement(providers, tenant, owner):
    first = _set(tenant, owner)
    second = _set(tenant, owner, provider="openai", key=OPENAI_KEY)

    assert first.pk == second.pk
    assert ProviderCredential.objects.count() == 1
    second.refresh_from_db()
    assert (second.provider, second.model, second.hint) == (
        "openai",
        "gpt-4o-mini",
        "sk-proj-…wxyz",
    )
    with credential_reveal_for_call(credential=second) as api_key:
        assert api_key == OPENAI_KEY
    replaced = KeyAuditEvent.objects.filter(action="replaced").get()
    assert replaced.hint == "sk-proj-…wxyz"
    assert "sk-ant-…abcd" in replaced.detail


def test_client_and_admin_keys_are_kept_apart(providers, tenant, owner, superuser):
    _set(tenant, owner, source="client")
    _set(tenant, superuser, source="admin", provider="openai", key=OPENAI_KEY)

    assert credential_get(tenant=tenant, source=KeySource.CLIENT).provider == "anthropic"
    assert credential_get(tenant=tenant, source=KeySource.ADMIN).provider == "openai"
    assert credential_hint_for_client(tenant=tenant) == "sk-ant-…abcd"


def test_client_hint_never_reveals_the_admin_managed_key(providers, tenant, superuser):
    _set(tenant, superuser, source="admin")

    assert credential_hint_for_client(tenant=tenant) is None


def test_database_refuses_a_second_credential_for_the_same_source(providers, tenant, owner):
    credential = _set(tenant, owner)

    with pytest.raises(IntegrityError), transaction.atomic():
        ProviderCredential.objects.create(
            tenant=tenant,
            source=credential.source,
            provider="openai",
            model="gpt-4o",
            sealed_key=credential.sealed_key,
            hint="x",
        )


def test_rejected_key_is_not_saved_and_the_refusal_is_audited(providers, tenant, owner):
    wrong = "sk-ant-api03-not-a-key-the-provider-knows-00zzzz"

    with pytest.raises(InvalidProviderKey) as refusal:
        _set(tenant, owner, key=wrong)

    assert "Anthropic did not accept this API key" in refusal.value.message
    assert wrong not in refusal.value.message
    assert not ProviderCredential.objects.exists()
    event = KeyAuditEvent.objects.get()
    assert (event.action, event.hint, event.actor) == ("failed_validation", "sk-ant-…zzzz", owner)
    assert wrong not in event.detail


def test_rejected_replacement_keeps_the_working_key(providers, tenant, owner):
    _set(tenant, owner)

    with pytest.raises(InvalidProviderKey):
        _set(tenant, owner, key="sk-ant-api03-unknown-key-00000000000000000000")

    credential = credential_get(tenant=tenant, source="client")
    with credential_reveal_for_call(credential=credential) as api_key:
        assert api_key == ANTHROPIC_KEY


def test_key_with_no_credit_left_is_refused_in_plain_words(providers, tenant, owner):
    broke = providers.add_key(
        "openai", "sk-proj-no-credit-left-000000000000000000", quota_exhausted=True
    )

    with pytest.raises(ProviderQuotaExhausted, match="no quota or credit left"):
        _set(tenant, owner, provider="openai", key=broke)
    assert not ProviderCredential.objects.exists()


def test_unreachable_provider_means_nothing_is_saved(providers, tenant, owner):
    providers.inject("anthropic", "server_error", times=None)

    with pytest.raises(ProviderKeyCheckUnavailable, match="could not be reached"):
        _set(tenant, owner)
    assert not ProviderCredential.objects.exists()


@pytest.mark.parametrize(
    "pasted", ["", "short", "sk-ant-with space inside-0000000000000000", "ключ" * 5]
)
def test_text_that_cannot_be_a_key_is_refused_without_a_provider_call(
    providers, tenant, owner, pasted
):
    with pytest.raises(InvalidProviderKey):
        _set(tenant, owner, key=pasted)
    assert providers.requests_for("anthropic") == []


def test_surrounding_whitespace_is_ignored(providers, tenant, owner):
    credential = _set(tenant, owner, key=f"  {ANTHROPIC_KEY}\n")
    with credential_reveal_for_call(credential=credential) as api_key:
        assert api_key == ANTHROPIC_KEY


def test_remove_deletes_the_key_and_audits_it(providers, tenant, owner):
    _set(tenant, owner)

    assert credential_remove(tenant=tenant, source="client", actor=owner) is True
    assert credential_remove(tenant=tenant, source="client", actor=owner) is False

    assert not ProviderCredential.objects.exists()
    assert list(KeyAuditEvent.objects.values_list("action", flat=True)) == ["removed", "set"]


def test_mark_status_records_a_change_once_and_scrubs_the_detail(providers, tenant, owner):
    credential = _set(tenant, owner)

    assert credential_mark_status(
        credential=credential,
        status="invalid",
        detail=f"Incorrect API key provided: {ANTHROPIC_KEY}. Go away.",
    )
    credential_mark_status(credential=credential, status="invalid", detail="again")

    credential.refresh_from_db()
    assert credential.status == "invalid"
    assert ANTHROPIC_KEY not in credential.status_detail
    assert credential_active(tenant=tenant, source="client") is None
    failed = KeyAuditEvent.objects.filter(action="failed_validation")
    assert failed.count() == 1
    assert ANTHROPIC_KEY not in failed.get().detail


def test_mark_status_ignores_a_verdict_about_a_key_since_replaced(providers, tenant, owner):
    stale = _set(tenant, owner)
    _set(tenant, owner, provider="openai", key=OPENAI_KEY)

    assert credential_mark_status(credential=stale, status="invalid") is False
    assert credential_get(tenant=tenant, source="client").status == "valid"


def test_unreachable_does_not_count_as_verified(providers, tenant, owner):
    credential = _set(tenant, owner)
    verified_at = credential.last_verified_at

    credential_mark_status(credential=credential, status="unreachable", detail="timeout")

    credential.refresh_from_db()
    assert credential.last_verified_at == verified_at
    assert credential_active(tenant=tenant, source="client") == credential


def test_verify_rechecks_a_stored_key(providers, tenant, owner):
    credential = _set(tenant, owner)
    credential_mark_status(credential=credential, status="invalid")
    providers.add_key("anthropic", ANTHROPIC_KEY)

    assert credential_verify(credential=credential, actor=owner) == "valid"
    assert KeyAuditEvent.objects.first().action == "validated"


def test_verify_notices_a_revoked_key(providers, tenant, owner):
    credential = _set(tenant, owner)
    providers.remove_key("anthropic", ANTHROPIC_KEY)

    assert credential_verify(credential=credential, actor=None) == "invalid"
    assert credential_get(tenant=tenant, source="client").status == "invalid"


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("sk-ant-api03-abcdefghijklmnop1234", "sk-ant-…1234"),
        ("sk-proj-abcdefghijklmnop5678", "sk-proj-…5678"),
        ("sk-abcdefghijklmnop9999", "sk-…9999"),
        ("AIzaSyabcdefghijklmnop0000", "AIza…0000"),
        ("mistralkeywithoutprefix7777", "…7777"),
        ("elevenchars", "********"),
        ("", "********"),
    ],
)
def test_hint_shows_prefix_and_last_four_only(key, hint):
    assert key_hint(key) == hint


def test_repr_and_str_show_the_hint_only(providers, tenant, owner):
    credential = _set(tenant, owner)
    event = KeyAuditEvent.objects.get()
    for text in (repr(credential), str(credential), repr(event), str(event)):
        assert "sk-ant-…abcd" in text
        assert credential.sealed_key not in text
        assert ANTHROPIC_KEY not in text


def test_errors_are_chatdirect_errors_for_the_edge_to_show():
    assert issubclass(InvalidProviderKey, ChatDirectError)
    assert issubclass(ProviderQuotaExhausted, ChatDirectError)
    assert issubclass(ProviderKeyCheckUnavailable, ChatDirectError)
