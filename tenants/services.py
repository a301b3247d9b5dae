"""Writes for tenants: the monthly conversation counter and the cap rule of DESIGN.md."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils.text import slugify

from chatdirect.errors import CapReached
from tenants.models import ConversationCounter, Membership, Plan, Tenant
from tenants.selectors import billing_period

KEY_SOURCE_PLATFORM = "platform"


@dataclass(frozen=True)
class ConversationReservation:
    """One conversation held against a billing period; release it if no reply could be produced."""

    tenant_id: int
    period: dt.date
    counts_toward_cap: bool

    @property
    def column(self) -> str:
        return "platform_conversations" if self.counts_toward_cap else "dedicated_conversations"


def conversation_reserve(
    *, tenant: Tenant, key_source: str, at: dt.datetime | None = None
) -> ConversationReservation:
    """Count one conversation for the tenant's current billing period.

    The cap applies exactly when a pooled platform key pays. The check and the increment are one
    conditional UPDATE, so concurrent reservations can never overshoot: the database re-evaluates
    the `< cap` condition against the latest row version after waiting for the row lock. The common
    case is that single statement; the counter row for a new month is created on the first miss.
    """
    reservation = ConversationReservation(
        tenant_id=tenant.pk,
        period=billing_period(tenant=tenant, at=at),
        counts_toward_cap=key_source == KEY_SOURCE_PLATFORM,
    )
    cap = tenant.plan.monthly_conversation_cap
    if reservation.counts_toward_cap and cap == 0:
        raise CapReached(tenant_id=tenant.pk, cap=cap)
    if _counter_increment(reservation=reservation, cap=cap):
        return reservation
    ConversationCounter.objects.bulk_create(
        [ConversationCounter(tenant_id=tenant.pk, period=reservation.period)], ignore_conflicts=True
    )
    if _counter_increment(reservation=reservation, cap=cap):
        return reservation
    raise CapReached(
        "This month's conversation allowance is used up.", tenant_id=tenant.pk, cap=cap
    )


def _counter_increment(*, reservation: ConversationReservation, cap: int) -> bool:
    counters = ConversationCounter.objects.filter(
        tenant_id=reservation.tenant_id, period=reservation.period
    )
    if reservation.counts_toward_cap:
        counters = counters.filter(platform_conversations__lt=cap)
    column = reservation.column
    return counters.update(**{column: F(column) + 1}) == 1


def conversation_release(*, reservation: ConversationReservation) -> None:
    """Give a reservation back (the reply failed), in the period it was taken from."""
    column = reservation.column
    ConversationCounter.objects.filter(
        tenant_id=reservation.tenant_id, period=reservation.period, **{f"{column}__gt": 0}
    ).update(**{column: F(column) - 1})


@transaction.atomic
def tenant_create(
    *,
    name: str,
    plan: Plan,
    slug: str = "",
    api_key_mode: str = Tenant.ApiKeyMode.PLATFORM,
    chat_mode: str = Tenant.ChatMode.AI,
    timezone: str = "",
    allowed_origins: list[str] | None = None,
) -> Tenant:
    tenant = Tenant(
        name=name,
        slug=slug or slugify(name),
        plan=plan,
        api_key_mode=api_key_mode,
        chat_mode=chat_mode,
        allowed_origins=allowed_origins or [],
    )
    if timezone:
        tenant.timezone = timezone
    tenant.full_clean()
    tenant.save()
    return tenant


@transaction.atomic
def membership_set(*, tenant: Tenant, user, role: str) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        tenant=tenant, user=user, defaults={"role": role}
    )
    return membership


def user_create(*, username: str, email: str, password: str, is_superuser: bool = False):
    User = get_user_model()
    if is_superuser:
        return User.objects.create_superuser(username=username, email=email, password=password)
    return User.objects.create_user(username=username, email=email, password=password)


@transaction.atomic
def tenant_widget_update(*, tenant: Tenant, allowed_origins: list[str]) -> Tenant:
    # Origins compare exactly against the browser's Origin header: no trailing slash, lower case.
    tenant.allowed_origins = sorted(
        {origin.strip().rstrip("/").lower() for origin in allowed_origins if origin.strip()}
    )
    tenant.full_clean()
    tenant.save(update_fields=["allowed_origins", "updated"])
    return tenant
