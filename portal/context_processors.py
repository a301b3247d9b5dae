"""What every portal page needs: the workspace switcher, the navigation, and the banners."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from byok.models import ProviderCredential
from byok.selectors import credential_get
from conversations.routing import route_for
from tenants.models import Membership, Tenant
from tenants.selectors import cap_usage, tenant_list_for_user

# The issue asks for a warning from 80% of the cap, and an alarm at 100%.
CAP_WARNING_PERCENT = 80
_KEY_HEALTHY = (ProviderCredential.Status.VALID, ProviderCredential.Status.UNVERIFIED)


@dataclass(frozen=True)
class Banner:
    level: str  # "warn" or "bad"
    text: str
    link_url: str = ""
    link_text: str = ""


def portal(request) -> dict:
    if not request.path.startswith("/portal/") or not request.user.is_authenticated:
        return {}
    context = {"user_tenants": tenant_list_for_user(user=request.user)}
    tenant = getattr(request, "tenant", None)
    membership = getattr(request, "membership", None)
    if tenant is None or membership is None:
        return context
    is_owner = membership.role == Membership.Role.OWNER
    context.update(
        is_owner=is_owner,
        consumption_url=_consumption_url(),
        portal_banners=banners(tenant=tenant, is_owner=is_owner),
    )
    return context


def banners(*, tenant: Tenant, is_owner: bool) -> list[Banner]:
    """Cap and key warnings. One query for the route (none in platform mode), one for the counter."""
    found = []
    route = route_for(tenant=tenant)
    identity_url = reverse("portal:identity") if is_owner else ""
    if tenant.api_key_mode == Tenant.ApiKeyMode.CLIENT:
        credential = route.credential or credential_get(tenant=tenant, source="client")
        if credential is not None and credential.status not in _KEY_HEALTHY:
            found.append(
                Banner(
                    "bad",
                    f"Your {credential.get_provider_display()} API key is failing: "
                    f"{credential.get_status_display().lower()}."
                    + (
                        " Until it works again, ChatDirect's platform key and your plan's cap apply."
                        if route.counts_toward_cap
                        else ""
                    ),
                    identity_url,
                    "Check the key",
                )
            )
    if route.counts_toward_cap:
        usage = cap_usage(tenant=tenant)
        plan_url = reverse("portal:plan") if is_owner else ""
        if usage.at_cap:
            found.append(
                Banner(
                    "bad",
                    f"This month's {usage.cap:,} conversations are used up. New visitors go to "
                    "your team's inbox or leave their contact details until next month.",
                    plan_url,
                    "See your plan",
                )
            )
        elif usage.percent >= CAP_WARNING_PERCENT:
            found.append(
                Banner(
                    "warn",
                    f"{usage.platform_conversations:,} of this month's {usage.cap:,} conversations "
                    f"are used ({usage.percent}%).",
                    plan_url,
                    "See your plan",
                )
            )
    return found


def _consumption_url() -> str:
    # The consumption pages land separately; until then the navigation leaves the link out.
    try:
        return reverse("consumption:overview")
    except NoReverseMatch:
        return ""
