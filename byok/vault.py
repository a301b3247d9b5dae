"""The key vault: seals provider API keys at rest with AES-256-CBC + HMAC-SHA256 (encrypt-then-MAC).

Pure module. The only Django contact is a lazy read of ``settings.CHATDIRECT_VAULT_KEYS`` when a
caller passes no keyring.

Keyring
=======
``CHATDIRECT_VAULT_KEYS`` is a comma-separated list of ``key_id:base64-secret`` entries, newest
first::

    CHATDIRECT_VAULT_KEYS=k2026b:3q2+7w...==,k2026a:q83v...==

- ``key_id`` matches ``[A-Za-z0-9_-]{1,32}`` and is unique in the keyring.
- ``base64-secret`` is standard or URL-safe base64 (padding optional) and decodes to >= 32 bytes.
- The first entry is the *current* key: every new record is sealed under it. The others stay
  readable so that rotation (``manage.py rotate_vault_key``) can run while requests are served.
  ``generate_keyring_entry("k2027")`` prints a fresh entry.

Key derivation
==============
For each keyring secret, once per process (see ``derivation_count``)::

    salt = b"chatdirect-vault"
    enc_key = HKDF-SHA256(ikm=secret, salt=salt, info=b"chatdirect-vault/v1/enc", length=32)
    mac_key = HKDF-SHA256(ikm=secret, salt=salt, info=b"chatdirect-vault/v1/mac", length=32)

``derive_keys(secret)`` returns ``(enc_key, mac_key)`` for an operator who needs them.

Record format, version 1
========================
A sealed record is ASCII text, safe for a TextField, a shell or a log::

    v1:<key_id>:<payload>

``payload`` is unpadded URL-safe base64 (RFC 4648 section 5, no ``=``) of the bytes::

    offset  length      field
    0       16          iv          random per record (os.urandom)
    16      16 * n      ciphertext  AES-256-CBC(enc_key, iv, PKCS7(utf8(plaintext))), n >= 1
    16+16n  32          tag         HMAC-SHA256(mac_key, mac_input)

``mac_input`` frames six fields, each as a 4-byte big-endian unsigned length followed by the
field's bytes, so that no two different field tuples produce the same input::

    u32be(len(f)) || f   for f in (b"v1", ascii(key_id), ascii(str(tenant_id)), utf8(provider),
                                   iv, ciphertext)

``tenant_id`` is the decimal integer without sign padding or leading zeros (``str(int)``).
Binding tenant and provider into the tag means a record copied onto another tenant's or
provider's row fails authentication.

Opening verifies the record's shape, recomputes the tag and compares it in constant time
*before* touching the ciphertext; only then is it decrypted and unpadded. Any failure after
the tag check (bad padding, invalid UTF-8: impossible unless the key is wrong) raises the very
same ``AuthenticationFailed`` as a wrong tag, so there is no padding oracle.

Decrypting by hand (operator recipe, given the record and the derived keys in hex)::

    payload=$(printf %s "$RECORD" | cut -d: -f3 | tr '_-' '/+')
    while [ $(( ${#payload} % 4 )) -ne 0 ]; do payload="$payload="; done
    printf %s "$payload" | base64 -d > rec.bin
    head -c 16 rec.bin > iv.bin; tail -c 32 rec.bin > tag.bin
    head -c -32 rec.bin | tail -c +17 > ct.bin
    # verify: rebuild mac_input as above, then
    #   openssl dgst -sha256 -mac HMAC -macopt hexkey:$MAC_KEY_HEX mac_input.bin  == tag.bin
    openssl enc -d -aes-256-cbc -K $ENC_KEY_HEX -iv $(xxd -p iv.bin) -in ct.bin
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
import threading
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "SETTING_NAME",
    "AuthenticationFailed",
    "Keyring",
    "MalformedRecord",
    "UnknownKeyId",
    "VaultConfigurationError",
    "VaultError",
    "configured_keyring",
    "derivation_count",
    "derive_keys",
    "generate_keyring_entry",
    "open_sealed",
    "parse_keyring",
    "record_key_id",
    "reseal",
    "seal",
]

SETTING_NAME = "CHATDIRECT_VAULT_KEYS"
FORMAT_VERSION = "v1"
MIN_SECRET_BYTES = 32

_HKDF_SALT = b"chatdirect-vault"
_ENC_INFO = b"chatdirect-vault/v1/enc"
_MAC_INFO = b"chatdirect-vault/v1/mac"
_IV_BYTES = 16
_BLOCK_BYTES = 16
_TAG_BYTES = 32
_KEY_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_RECORD_RE = re.compile(r"(v[0-9]+):([A-Za-z0-9_-]{1,32}):([A-Za-z0-9_-]+)")


class VaultError(Exception):
    """Base class of every vault failure. Messages never contain key material."""


class VaultConfigurationError(VaultError):
    """CHATDIRECT_VAULT_KEYS is missing or malformed."""


class UnknownKeyId(VaultError):
    """The record was sealed under a key id that is not in the keyring."""


class AuthenticationFailed(VaultError):
    """The tag does not verify: tampered record, wrong key, or wrong tenant/provider."""


class MalformedRecord(VaultError):
    """The text is not a vault record (truncated, garbage, unsupported version)."""


# One message for every post-MAC failure: telling "bad tag" from "bad padding" apart is exactly the
# padding oracle the MAC exists to remove.
_AUTH_FAILED_MESSAGE = (
    "vault record failed authentication: it was altered, sealed under a different secret, "
    "or belongs to another tenant or provider"
)


@dataclass(frozen=True, repr=False)
class Keyring:
    """Vault secrets by key id, newest first. ``repr`` shows key ids only."""

    _entries: tuple[tuple[str, bytes], ...] = field()

    def __post_init__(self) -> None:
        if not self._entries:
            raise VaultConfigurationError(f"{SETTING_NAME} holds no keys.")

    @property
    def current_key_id(self) -> str:
        return self._entries[0][0]

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(key_id for key_id, _ in self._entries)

    def secret_for(self, key_id: str) -> bytes:
        for candidate, secret in self._entries:
            if candidate == key_id:
                return secret
        raise UnknownKeyId(
            f"vault record was sealed under key id {key_id!r}, which is not in {SETTING_NAME} "
            f"(known: {', '.join(self.key_ids)}); put the old entry back at the end of the keyring"
        )

    def __repr__(self) -> str:
        return f"Keyring(key_ids={self.key_ids!r})"


def parse_keyring(text: str) -> Keyring:
    """Parse ``CHATDIRECT_VAULT_KEYS``. Errors say what is wrong and never echo a secret."""
    if text is None or not str(text).strip():
        raise VaultConfigurationError(
            f"{SETTING_NAME} is not set. Set it to 'key_id:base64-secret' entries, newest first; "
            'generate one with: python -c "from byok.vault import generate_keyring_entry as g; '
            "print(g('k1'))\""
        )
    entries: list[tuple[str, bytes]] = []
    for position, raw_entry in enumerate(str(text).split(","), start=1):
        entry = raw_entry.strip()
        where = f"{SETTING_NAME} entry {position}"
        if not entry:
            raise VaultConfigurationError(f"{where} is empty (stray comma?).")
        key_id, sep, encoded = entry.partition(":")
        key_id, encoded = key_id.strip(), encoded.strip()
        if not sep or not encoded:
            raise VaultConfigurationError(f"{where} is not of the form key_id:base64-secret.")
        if not _KEY_ID_RE.fullmatch(key_id):
            # The text before ':' might be a pasted secret, so it is not echoed.
            raise VaultConfigurationError(
                f"{where} has an invalid key id: use 1 to 32 characters from A-Z a-z 0-9 _ -."
            )
        secret = _decode_secret(encoded, where=f"{where} ({key_id!r})")
        if any(existing == key_id for existing, _ in entries):
            raise VaultConfigurationError(f"{where}: key id {key_id!r} appears more than once.")
        entries.append((key_id, secret))
    return Keyring(tuple(entries))


def _decode_secret(encoded: str, *, where: str) -> bytes:
    normalized = encoded.replace("-", "+").replace("_", "/")
    normalized += "=" * (-len(normalized) % 4)
    try:
        secret = base64.b64decode(normalized, validate=True)
    except (binascii.Error, ValueError):
        raise VaultConfigurationError(f"{where}: the secret is not valid base64.") from None
    if len(secret) < MIN_SECRET_BYTES:
        raise VaultConfigurationError(
            f"{where}: the secret decodes to {len(secret)} bytes; at least {MIN_SECRET_BYTES} "
            "random bytes are required."
        )
    return secret


def generate_keyring_entry(key_id: str) -> str:
    """A fresh ``key_id:base64-secret`` entry with 32 random bytes."""
    if not _KEY_ID_RE.fullmatch(key_id):
        raise ValueError("key id must be 1 to 32 characters from A-Z a-z 0-9 _ -")
    return f"{key_id}:{base64.b64encode(os.urandom(MIN_SECRET_BYTES)).decode('ascii')}"


def derive_keys(secret: bytes) -> tuple[bytes, bytes]:
    """``(enc_key, mac_key)`` for one keyring secret, as documented in the module docstring."""
    enc_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_ENC_INFO).derive(
        secret
    )
    mac_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_MAC_INFO).derive(
        secret
    )
    return enc_key, mac_key


# Keyed by (key_id, secret) rather than key_id alone: tests and a live rotation can present two
# keyrings that reuse an id with different secrets, and those must never share derived keys.
_derived: dict[tuple[str, bytes], tuple[bytes, bytes]] = {}
_derived_lock = threading.Lock()
_derivations = 0


def derivation_count() -> int:
    """How many HKDF derivations this process has run (for benches and tests)."""
    return _derivations


def _keys_for(keyring: Keyring, key_id: str) -> tuple[bytes, bytes]:
    secret = keyring.secret_for(key_id)
    cache_key = (key_id, secret)
    keys = _derived.get(cache_key)
    if keys is not None:
        return keys
    global _derivations
    with _derived_lock:
        keys = _derived.get(cache_key)
        if keys is None:
            keys = derive_keys(secret)
            _derived[cache_key] = keys
            _derivations += 1
    return keys


_settings_keyrings: dict[str, Keyring] = {}


def configured_keyring() -> Keyring:
    """The keyring in ``settings.CHATDIRECT_VAULT_KEYS``, parsed once per distinct value."""
    from django.conf import settings

    configured = getattr(settings, SETTING_NAME, None)
    if isinstance(configured, Keyring):
        return configured
    if not isinstance(configured, str):
        configured = "" if configured is None else str(configured)
    keyring = _settings_keyrings.get(configured)
    if keyring is None:
        keyring = parse_keyring(configured)
        # override_settings in tests is the only source of variety here, so this stays tiny.
        _settings_keyrings[configured] = keyring
    return keyring


def _mac_input(
    *, version: str, key_id: str, tenant_id: int, provider: str, iv: bytes, ciphertext: bytes
) -> bytes:
    fields = (
        version.encode("ascii"),
        key_id.encode("ascii"),
        str(tenant_id).encode("ascii"),
        provider.encode("utf-8"),
        iv,
        ciphertext,
    )
    return b"".join(struct.pack(">I", len(f)) + f for f in fields)


def _check_binding(tenant_id: int, provider: str) -> None:
    # bool is an int; True as a tenant id is always a bug upstream.
    if not isinstance(tenant_id, int) or isinstance(tenant_id, bool):
        raise TypeError("tenant_id must be an int")
    if not isinstance(provider, str) or not provider:
        raise TypeError("provider must be a non-empty str")


def seal(plaintext: str, *, tenant_id: int, provider: str, keyring: Keyring | None = None) -> str:
    """Encrypt ``plaintext`` for one tenant and provider under the keyring's current key."""
    _check_binding(tenant_id, provider)
    if not isinstance(plaintext, str):
        raise TypeError("plaintext must be a str")
    keyring = keyring if keyring is not None else configured_keyring()
    key_id = keyring.current_key_id
    enc_key, mac_key = _keys_for(keyring, key_id)
    iv = os.urandom(_IV_BYTES)
    padder = padding.PKCS7(algorithms.AES.block_size).padder()
    padded = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    tag = hmac.digest(
        mac_key,
        _mac_input(
            version=FORMAT_VERSION,
            key_id=key_id,
            tenant_id=tenant_id,
            provider=provider,
            iv=iv,
            ciphertext=ciphertext,
        ),
        hashlib.sha256,
    )
    payload = base64.urlsafe_b64encode(iv + ciphertext + tag).rstrip(b"=").decode("ascii")
    return f"{FORMAT_VERSION}:{key_id}:{payload}"


def _parse_record(record: str) -> tuple[str, str, bytes, bytes, bytes]:
    if not isinstance(record, str):
        raise MalformedRecord("vault record must be text")
    match = _RECORD_RE.fullmatch(record)
    if match is None:
        raise MalformedRecord("not a vault record (expected 'v1:<key_id>:<base64url>')")
    version, key_id, payload = match.groups()
    if version != FORMAT_VERSION:
        raise MalformedRecord(f"unsupported vault record version {version!r}")
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except (binascii.Error, ValueError):
        raise MalformedRecord("vault record payload is not valid base64url") from None
    # Non-canonical trailing bits would let two different texts open to the same record; demanding
    # the canonical form makes every changed character of the text an error.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != payload:
        raise MalformedRecord("vault record payload is not canonical base64url")
    body = len(raw) - _IV_BYTES - _TAG_BYTES
    if body < _BLOCK_BYTES or body % _BLOCK_BYTES:
        raise MalformedRecord("vault record payload has the wrong length (truncated?)")
    iv, ciphertext, tag = raw[:_IV_BYTES], raw[_IV_BYTES:-_TAG_BYTES], raw[-_TAG_BYTES:]
    return version, key_id, iv, ciphertext, tag


def record_key_id(record: str) -> str:
    """The key id a record was sealed under (no secret needed)."""
    return _parse_record(record)[1]


def open_sealed(
    record: str, *, tenant_id: int, provider: str, keyring: Keyring | None = None
) -> str:
    """Verify and decrypt a record sealed for this tenant and provider."""
    _check_binding(tenant_id, provider)
    version, key_id, iv, ciphertext, tag = _parse_record(record)
    keyring = keyring if keyring is not None else configured_keyring()
    enc_key, mac_key = _keys_for(keyring, key_id)
    expected = hmac.digest(
        mac_key,
        _mac_input(
            version=version,
            key_id=key_id,
            tenant_id=tenant_id,
            provider=provider,
            iv=iv,
            ciphertext=ciphertext,
        ),
        hashlib.sha256,
    )
    if not hmac.compare_digest(expected, tag):
        raise AuthenticationFailed(_AUTH_FAILED_MESSAGE)
    decryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    try:
        unpadder = padding.PKCS7(algorithms.AES.block_size).unpadder()
        return (unpadder.update(padded) + unpadder.finalize()).decode("utf-8")
    except ValueError:  # bad padding or UnicodeDecodeError (a ValueError subclass)
        raise AuthenticationFailed(_AUTH_FAILED_MESSAGE) from None


def reseal(record: str, *, tenant_id: int, provider: str, keyring: Keyring | None = None) -> str:
    """Re-encrypt a record under the keyring's current key id (fresh IV)."""
    keyring = keyring if keyring is not None else configured_keyring()
    plaintext = open_sealed(record, tenant_id=tenant_id, provider=provider, keyring=keyring)
    return seal(plaintext, tenant_id=tenant_id, provider=provider, keyring=keyring)
