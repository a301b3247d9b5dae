"""Which provider, model and key serve a tenant's next reply, and who pays for it.

Decided afresh for every message from what is stored, so a change of provider, model or key in the
portal or admin takes effect on the next message without a restart. The cap rule of DESIGN.md
follows from `key_source`: the cap applies exactly when it is "platform".
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings

from byok.models import KeySource, ProviderCredential
from byok.selectors import credential_get
from byok.services import credential_reveal_for_call
from conversations.providers.registry import DEMO_PROVIDER
from tenants.models import Tenant

KEY_SOURCE_PLATFORM = "platform"
# A dedicated key in one of these states serves calls; the others (rejected, out of quota) do not,
# and the tenant is served by the platform key and its cap until the key is fixed in the portal.
_WORKING = (
    ProviderCredential.Status.VALID,
    ProviderCredential.Status.UNVERIFIED,
    ProviderCredential.Status.UNREACHABLE,
)


@dataclass(frozen=True)
class Route:
    provider: str
    model: str
    key_source: str
    credential: ProviderCredential | None = None
    # Set when the tenant chose a dedicated key that cannot serve: shown in the portal.
    fallback_reason: str = ""

    @property
    def counts_toward_cap(self) -> bool:
        return self.key_source == KEY_SOURCE_PLATFORM

    def __repr__(self) -> str:
        return f"<Route {self.provider}/{self.model} paid by {self.key_source}>"


def route_for(*, tenant: Tenant) -> Route:
    mode = tenant.api_key_mode
    if mode in (Tenant.ApiKeyMode.ADMIN, Tenant.ApiKeyMode.CLIENT):
        source = KeySource.ADMIN if mode == Tenant.ApiKeyMode.ADMIN else KeySource.CLIENT
        credential = credential_get(tenant=tenant, source=source)
        if credential is not None and credential.status in _WORKING:
            return Route(
                provider=credential.provider,
                model=credential.model,
                key_source=source.value,
                credential=credential,
            )
        reason = "no key saved" if credential is None else f"key {credential.status}"
        return _platform_route(tenant=tenant, fallback_reason=reason)
    return _platform_route(tenant=tenant)


def _platform_route(*, tenant: Tenant, fallback_reason: str = "") -> Route:
    models = settings.CHATDIRECT_PLATFORM_MODELS
    provider, _, model = models.get(tenant.plan.name, models["default"]).partition(":")
    if not settings.CHATDIRECT_PLATFORM_KEYS.get(provider):
        # No pooled key configured (the embedded default): the offline demo bot answers.
        provider, model = DEMO_PROVIDER, "demo"
    return Route(
        provider=provider,
        model=model,
        key_source=KEY_SOURCE_PLATFORM,
        fallback_reason=fallback_reason,
    )


@contextlib.contextmanager
def api_key_for_call(route: Route) -> Iterator[str]:
    """The plaintext key for one provider call; it exists only inside the `with` block."""
    if route.credential is not None:
        with credential_reveal_for_call(credential=route.credential) as api_key:
            yield api_key
        return
    yield settings.CHATDIRECT_PLATFORM_KEYS.get(route.provider, "") or ""
