"""The vault's pure crypto: no database, no settings unless a test asks for them."""

import base64
import hashlib
import hmac
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from byok import vault
from byok.vault import (
    AuthenticationFailed,
    MalformedRecord,
    UnknownKeyId,
    VaultConfigurationError,
    VaultError,
)

KEY = "sk-ant-api03-" + "x" * 40 + "wxyz"


def _secret(n: int = 32, fill: bytes = b"\x01") -> str:
    return base64.b64encode(fill * n).decode()


@pytest.fixture
def keyring():
    return vault.parse_keyring(vault.generate_keyring_entry("k1"))


def _payload(record: str) -> bytes:
    encoded = record.split(":")[2]
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))


def _record(key_id: str, raw: bytes) -> str:
    return f"v1:{key_id}:" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _documented_mac_input(key_id, tenant_id, provider, iv, ct) -> bytes:
    fields = (b"v1", key_id.encode(), str(tenant_id).encode(), provider.encode(), iv, ct)
    return b"".join(struct.pack(">I", len(f)) + f for f in fields)


def test_round_trip(keyring):
    record = vault.seal(KEY, tenant_id=7, provider="anthropic", keyring=keyring)
    assert vault.open_sealed(record, tenant_id=7, provider="anthropic", keyring=keyring) == KEY


def test_round_trip_non_ascii_and_block_sized_plaintexts(keyring):
    for plaintext in ["", "é" * 5, "a" * 16, "b" * 32, "ключ-🔑"]:
        record = vault.seal(plaintext, tenant_id=1, provider="openai", keyring=keyring)
        assert (
            vault.open_sealed(record, tenant_id=1, provider="openai", keyring=keyring) == plaintext
        )


def test_record_is_ascii_versioned_and_names_its_key_id(keyring):
    record = vault.seal(KEY, tenant_id=7, provider="anthropic", keyring=keyring)
    assert record.isascii()
    assert record.startswith("v1:k1:")
    assert vault.record_key_id(record) == "k1"
    assert KEY not in record


def test_each_seal_uses_a_fresh_iv(keyring):
    records = [vault.seal(KEY, tenant_id=7, provider="openai", keyring=keyring) for _ in range(50)]
    ivs = {_payload(r)[:16] for r in records}
    assert len(ivs) == 50
    assert len(set(records)) == 50


def test_every_flipped_payload_bit_fails_authentication(keyring):
    record = vault.seal(KEY, tenant_id=7, provider="openai", keyring=keyring)
    raw = _payload(record)
    for position in range(len(raw)):
        for bit in range(8):
            tampered = bytearray(raw)
            tampered[position] ^= 1 << bit
            with pytest.raises(AuthenticationFailed):
                vault.open_sealed(
                    _record("k1", bytes(tampered)), tenant_id=7, provider="openai", keyring=keyring
                )


def test_every_flipped_bit_of_the_record_text_is_refused(keyring):
    record = vault.seal(KEY, tenant_id=7, provider="openai", keyring=keyring)
    for position in range(len(record)):
        for bit in range(8):
            tampered = (
                record[:position] + chr(ord(record[position]) ^ (1 << bit)) + record[position + 1 :]
            )
            with pytest.raises(VaultError):
                vault.open_sealed(tampered, tenant_id=7, provider="openai", keyring=keyring)


def test_record_moved_to_another_tenant_fails(keyring):
    record = vault.seal(KEY, tenant_id=7, provider="openai", keyring=keyring)
    with pytest.raises(AuthenticationFailed):
        vault.open_sealed(record, tenant_id=8, provider="openai", keyring=keyring)


def test_record_moved_to_another_provider_fails(keyring):
    record = vault.seal(KEY, tenant_id=7, provider="openai", keyring=keyring)
    with pytest.raises(AuthenticationFailed):
        vault.open_sealed(record, tenant_id=7, provider="mistral", keyring=keyring)


def test_framing_keeps_tenant_and_provider_apart(keyring):
    # Without length prefixes, (tenant 12, provider "3x") and (tenant 123, provider "x") would
    # feed the MAC the same bytes.
    record = vault.seal(KEY, tenant_id=12, provider="3x", keyring=keyring)
    with pytest.raises(AuthenticationFailed):
        vault.open_sealed(record, tenant_id=123, provider="x", keyring=keyring)


def test_a_different_secret_fails_authentication(keyring):
    record = vault.seal(KEY, tenant_id=7, provider="openai", keyring=keyring)
    impostor = vault.parse_keyring(vault.generate_keyring_entry("k1"))
    with pytest.raises(AuthenticationFailed):
        vault.open_sealed(record, tenant_id=7, provider="openai", keyring=impostor)


def test_unknown_key_id_fails_clearly(keyring):
    other = vault.parse_keyring(vault.generate_keyring_entry("k9"))
    record = vault.seal(KEY, tenant_id=7, provider="openai", keyring=other)
    with pytest.raises(UnknownKeyId, match=r"'k9'.*CHATDIRECT_VAULT_KEYS.*k1"):
        vault.open_sealed(record, tenant_id=7, provider="openai", keyring=keyring)


@pytest.mark.parametrize(
    "record",
    [
        "",
        "sk-ant-not-a-record",
        "v1:k1:",
        "v1:k1",
        "v2:k1:AAAA",
        "v1:k 1:AAAA",
        "v1:k1:not base64!",
        "v1:k1:" + "A" * 10,  # decodes, far too short
        "v1:k1:" + base64.urlsafe_b64encode(b"\0" * 16 + b"\0" * 17 + b"\0" * 32).decode(),
    ],
)
def test_garbage_is_a_malformed_record(keyring, record):
    with pytest.raises(MalformedRecord):
        vault.open_sealed(record, tenant_id=7, provider="openai", keyring=keyring)


def test_truncated_record_is_malformed(keyring):
    record = vault.seal(KEY, tenant_id=7, provider="openai", keyring=keyring)
    for cut in range(len("v1:k1:"), len(record)):
        with pytest.raises((MalformedRecord, AuthenticationFailed)):
            vault.open_sealed(record[:cut], tenant_id=7, provider="openai", keyring=keyring)
    # Losing whole blocks keeps a valid shape only at block boundaries; the rest is MalformedRecord.
    with pytest.raises(MalformedRecord):
        vault.open_sealed(record[:-5], tenant_id=7, provider="openai", keyring=keyring)


def _validly_maced(keyring, plaintext_block: bytes, *, tenant_id=7, provider="openai") -> str:
    """A record built from the documented format with any padded bytes we like."""
    secret = keyring.secret_for("k1")
    enc_key, mac_key = vault.derive_keys(secret)
    iv = bytes(range(16))
    encryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    ct = encryptor.update(plaintext_block) + encryptor.finalize()
    tag = hmac.digest(
        mac_key, _documented_mac_input("k1", tenant_id, provider, iv, ct), hashlib.sha256
    )
    return _record("k1", iv + ct + tag)


def test_documented_format_is_what_the_vault_reads(keyring):
    record = _validly_maced(keyring, b"hello-key" + bytes([7]) * 7)
    assert vault.open_sealed(record, tenant_id=7, provider="openai", keyring=keyring) == "hello-key"


def test_wrong_padding_is_reported_exactly_like_a_wrong_tag(keyring):
    bad_padding = _validly_maced(keyring, b"A" * 15 + b"\x00")
    wrong_tag = bytearray(_payload(_validly_maced(keyring, b"hello-key" + bytes([7]) * 7)))
    wrong_tag[-1] ^= 1

    with pytest.raises(VaultError) as padding_error:
        vault.open_sealed(bad_padding, tenant_id=7, provider="openai", keyring=keyring)
    with pytest.raises(VaultError) as tag_error:
        vault.open_sealed(
            _record("k1", bytes(wrong_tag)), tenant_id=7, provider="openai", keyring=keyring
        )

    assert type(padding_error.value) is type(tag_error.value) is AuthenticationFailed
    assert str(padding_error.value) == str(tag_error.value)
    assert padding_error.value.__cause__ is None and padding_error.value.__suppress_context__


def test_invalid_utf8_after_a_valid_tag_is_reported_like_a_wrong_tag(keyring):
    record = _validly_maced(keyring, b"\xff\xfe" + bytes([14]) * 14)
    with pytest.raises(AuthenticationFailed):
        vault.open_sealed(record, tenant_id=7, provider="openai", keyring=keyring)


def test_rotation_old_key_readable_then_resealed_then_old_key_removed():
    old_entry = vault.generate_keyring_entry("k2025")
    new_entry = vault.generate_keyring_entry("k2026")
    old_ring = vault.parse_keyring(old_entry)
    record = vault.seal(KEY, tenant_id=3, provider="google", keyring=old_ring)

    both = vault.parse_keyring(f"{new_entry},{old_entry}")
    assert both.current_key_id == "k2026"
    assert vault.open_sealed(record, tenant_id=3, provider="google", keyring=both) == KEY

    resealed = vault.reseal(record, tenant_id=3, provider="google", keyring=both)
    assert vault.record_key_id(resealed) == "k2026"

    new_only = vault.parse_keyring(new_entry)
    assert vault.open_sealed(resealed, tenant_id=3, provider="google", keyring=new_only) == KEY
    with pytest.raises(UnknownKeyId):
        vault.open_sealed(record, tenant_id=3, provider="google", keyring=new_only)


def test_derivation_runs_once_per_key(keyring):
    record = vault.seal(KEY, tenant_id=7, provider="openai", keyring=keyring)
    before = vault.derivation_count()
    for _ in range(100):
        vault.open_sealed(record, tenant_id=7, provider="openai", keyring=keyring)
        vault.seal(KEY, tenant_id=7, provider="openai", keyring=keyring)
    assert vault.derivation_count() == before


def test_same_key_id_with_another_secret_is_derived_separately():
    first = vault.parse_keyring(vault.generate_keyring_entry("same"))
    second = vault.parse_keyring(vault.generate_keyring_entry("same"))
    record = vault.seal(KEY, tenant_id=1, provider="openai", keyring=first)
    with pytest.raises(AuthenticationFailed):
        vault.open_sealed(record, tenant_id=1, provider="openai", keyring=second)


def test_keyring_parses_newest_first_with_whitespace_and_urlsafe_base64():
    urlsafe = base64.urlsafe_b64encode(b"\xfb\xff" * 20).decode().rstrip("=")
    ring = vault.parse_keyring(f" new:{_secret()} , old:{urlsafe} ")
    assert ring.key_ids == ("new", "old")
    assert ring.current_key_id == "new"


def test_keyring_repr_shows_no_secret():
    entry = vault.generate_keyring_entry("k1")
    assert entry.split(":")[1] not in repr(vault.parse_keyring(entry))


def test_keyring_refuses_a_short_secret_without_echoing_it():
    short = _secret(31, b"\x07")
    with pytest.raises(VaultConfigurationError, match="CHATDIRECT_VAULT_KEYS.*31 bytes") as error:
        vault.parse_keyring(f"k1:{short}")
    assert short not in str(error.value)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "not set"),
        ("   ", "not set"),
        (f"k1:{_secret()},", "empty"),
        ("justasecretwithoutid", "key_id:base64-secret"),
        ("k1:", "key_id:base64-secret"),
        (f"bad id!:{_secret()}", "invalid key id"),
        (f"{'k' * 33}:{_secret()}", "invalid key id"),
        ("k1:@@@not-base64@@@", "not valid base64"),
        (f"k1:{_secret()},k1:{_secret()}", "more than once"),
    ],
)
def test_malformed_keyring_is_refused_with_a_clear_message(text, complaint):
    with pytest.raises(VaultConfigurationError, match="CHATDIRECT_VAULT_KEYS") as error:
        vault.parse_keyring(text)
    assert complaint in str(error.value)
    assert _secret() not in str(error.value)


def test_derive_keys_gives_distinct_32_byte_keys():
    enc_key, mac_key = vault.derive_keys(b"\x01" * 32)
    assert len(enc_key) == len(mac_key) == 32
    assert enc_key != mac_key
    assert vault.derive_keys(b"\x01" * 32) == (enc_key, mac_key)


def test_generate_keyring_entry_parses_and_refuses_bad_ids():
    entry = vault.generate_keyring_entry("dev-1")
    assert vault.parse_keyring(entry).key_ids == ("dev-1",)
    with pytest.raises(ValueError):
        vault.generate_keyring_entry("no:colons")


def test_binding_arguments_are_type_checked(keyring):
    with pytest.raises(TypeError):
        vault.seal(KEY, tenant_id="7", provider="openai", keyring=keyring)
    with pytest.raises(TypeError):
        vault.seal(KEY, tenant_id=True, provider="openai", keyring=keyring)
    with pytest.raises(TypeError):
        vault.seal(KEY, tenant_id=7, provider="", keyring=keyring)


def test_keyring_is_read_from_settings_when_not_passed(settings):
    entry = vault.generate_keyring_entry("fromsettings")
    settings.CHATDIRECT_VAULT_KEYS = entry
    record = vault.seal(KEY, tenant_id=7, provider="openai")
    assert vault.record_key_id(record) == "fromsettings"
    assert vault.open_sealed(record, tenant_id=7, provider="openai") == KEY


def test_missing_settings_keyring_is_a_configuration_error(settings):
    settings.CHATDIRECT_VAULT_KEYS = ""
    with pytest.raises(VaultConfigurationError, match="CHATDIRECT_VAULT_KEYS is not set"):
        vault.seal(KEY, tenant_id=7, provider="openai")
