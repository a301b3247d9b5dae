"""Signed visitor tokens: the widget's only credential, kept in the visitor's localStorage."""

from __future__ import annotations

from django.core import signing

_SALT = "chatdirect.widget.visitor"
# A visitor who comes back within a year keeps their conversation history.
MAX_AGE_SECONDS = 365 * 24 * 3600


def visitor_token_make(*, tenant_id: int, visitor_public_id) -> str:
    return signing.dumps({"t": tenant_id, "v": str(visitor_public_id)}, salt=_SALT, compress=True)


def visitor_token_read(token: str) -> tuple[int, str] | None:
    """(tenant id, visitor public id), or None for anything forged, expired or malformed."""
    try:
        payload = signing.loads(token, salt=_SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or not {"t", "v"} <= payload.keys():
        return None
    return payload["t"], payload["v"]
