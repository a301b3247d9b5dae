"""Vault key rotation end to end: old records keep working, the command moves them, the old id goes."""

import io

import pytest
from django.core.management import CommandError, call_command

from byok import vault
from byok.models import KeyAuditEvent, ProviderCredential
from byok.services import credential_reveal_for_call, credential_set
from tests.fakes.provider_server import FakeProviderServer

pytestmark = pytest.mark.django_db

OLD = vault.generate_keyring_entry("k2025")
NEW = vault.generate_keyring_entry("k2026")
KEY = "sk-ant-api03-rotation-test-key-000000000000000"


@pytest.fixture
def providers(settings):
    with FakeProviderServer() as server:
        settings.CHATDIRECT_PROVIDER_BASE_URLS = {
            name: server.url(name) for name in ("anthropic", "openai", "google", "mistral")
        }
        server.add_key("anthropic", KEY)
        yield server


@pytest.fixture
def credentials_on_old_key(settings, providers, tenant_factory, owner):
    settings.CHATDIRECT_VAULT_KEYS = OLD
    return [
        credential_set(
            tenant=tenant_factory(),
            source="client",
            provider="anthropic",
            model="claude-haiku-4-5",
            api_key=KEY,
            actor=owner,
        )
        for _ in range(5)
    ]


def _run(name, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _key_ids():
    return sorted(
        vault.record_key_id(r)
        for r in ProviderCredential.objects.values_list("sealed_key", flat=True)
    )


def _plaintexts():
    out = []
    for credential in ProviderCredential.objects.all():
        with credential_reveal_for_call(credential=credential) as api_key:
            out.append(api_key)
    return out


def test_rotation_end_to_end(settings, credentials_on_old_key):
    settings.CHATDIRECT_VAULT_KEYS = f"{NEW},{OLD}"
    # Requests keep working before rotation: old records open under the two-key ring.
    assert _plaintexts() == [KEY] * 5
    out, _ = _run("vault_check")
    assert "k2025" in out and "5" in out

    out, _ = _run("rotate_vault_key", "--batch-size", "2")

    assert "5 re-encrypted, 0 already on 'k2026', 0 failed" in out
    assert _key_ids() == ["k2026"] * 5
    assert KeyAuditEvent.objects.filter(action="rotated").count() == 5
    assert "k2025 -> k2026" in KeyAuditEvent.objects.filter(action="rotated").first().detail

    settings.CHATDIRECT_VAULT_KEYS = NEW
    assert _plaintexts() == [KEY] * 5
    out, _ = _run("vault_check")
    assert "Every record opens" in out


def test_rotation_is_resumable_and_skips_current_records(settings, credentials_on_old_key):
    settings.CHATDIRECT_VAULT_KEYS = f"{NEW},{OLD}"
    # A previous run that stopped part way: two records already moved.
    for credential in credentials_on_old_key[:2]:
        ProviderCredential.objects.filter(pk=credential.pk).update(
            sealed_key=vault.reseal(
                credential.sealed_key, tenant_id=credential.tenant_id, provider="anthropic"
            )
        )

    out, _ = _run("rotate_vault_key")

    assert "3 re-encrypted, 2 already on 'k2026'" in out
    assert _key_ids() == ["k2026"] * 5
    out, _ = _run("rotate_vault_key")
    assert "0 re-encrypted, 5 already on 'k2026'" in out


def test_dry_run_changes_nothing(settings, credentials_on_old_key):
    settings.CHATDIRECT_VAULT_KEYS = f"{NEW},{OLD}"
    before = list(ProviderCredential.objects.order_by("pk").values_list("sealed_key", flat=True))

    out, _ = _run("rotate_vault_key", "--dry-run")

    assert "Would re-encrypt 5" in out and "5 would be re-encrypted" in out
    assert (
        list(ProviderCredential.objects.order_by("pk").values_list("sealed_key", flat=True))
        == before
    )
    assert not KeyAuditEvent.objects.filter(action="rotated").exists()


def test_removing_the_old_id_too_early_is_caught_by_vault_check(settings, credentials_on_old_key):
    settings.CHATDIRECT_VAULT_KEYS = NEW

    with pytest.raises(CommandError, match="5 record"):
        _run("vault_check")
    with pytest.raises(CommandError, match="could not be opened"):
        _run("rotate_vault_key")
    assert _key_ids() == ["k2025"] * 5


def test_vault_check_reports_tampered_records_without_key_material(
    settings, credentials_on_old_key
):
    victim = credentials_on_old_key[0]
    record = victim.sealed_key
    tampered = record[:-3] + ("A" if record[-3] != "A" else "B") + record[-2:]
    ProviderCredential.objects.filter(pk=victim.pk).update(sealed_key=tampered)

    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 record"):
        call_command("vault_check", stdout=out, stderr=err)

    assert f"credential {victim.pk}" in err.getvalue()
    assert "AuthenticationFailed" in err.getvalue() or "MalformedRecord" in err.getvalue()
    assert KEY not in out.getvalue() + err.getvalue()
    assert tampered not in out.getvalue() + err.getvalue()


def test_rotation_refuses_a_broken_keyring(settings):
    settings.CHATDIRECT_VAULT_KEYS = "k1:dG9vLXNob3J0"
    with pytest.raises(CommandError, match="CHATDIRECT_VAULT_KEYS"):
        _run("rotate_vault_key")
