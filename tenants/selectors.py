"""Reads for tenants: billing periods and this month's usage against the cap."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.utils import timezone as django_timezone

from tenants.models import ConversationCounter, Membership, Tenant


def billing_period(*, tenant: Tenant, at: dt.datetime | None = None) -> dt.date:
    """First day of the calendar month that `at` falls in, in the tenant's time zone."""
    moment = at or django_timezone.now()
    return moment.astimezone(zoneinfo.ZoneInfo(tenant.timezone)).date().replace(day=1)


@dataclass(frozen=True)
class CapUsage:
    period: dt.date
    cap: int
    platform_conversations: int
    dedicated_conversations: int

    @property
    def remaining(self) -> int:
        return max(self.cap - self.platform_conversations, 0)

    @property
    def percent(self) -> int:
        if self.cap == 0:
            return 100
        return min(round(100 * self.platform_conversations / self.cap), 100)

    @property
    def at_cap(self) -> bool:
        return self.platform_conversations >= self.cap


def cap_usage(*, tenant: Tenant, at: dt.datetime | None = None) -> CapUsage:
    period = billing_period(tenant=tenant, at=at)
    counter = ConversationCounter.objects.filter(tenant=tenant, period=period).first()
    return CapUsage(
        period=period,
        cap=tenant.plan.monthly_conversation_cap,
        platform_conversations=counter.platform_conversations if counter else 0,
        dedicated_conversations=counter.dedicated_conversations if counter else 0,
    )


def tenant_list_for_user(*, user) -> list[Tenant]:
    if not user.is_authenticated:
        return []
    return list(
        Tenant.objects.filter(memberships__user=user, is_active=True)
        .select_related("plan")
        .order_by("name")
    )


def membership_get(*, user, tenant_id: int) -> Membership | None:
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.select_related("tenant", "tenant__plan")
        .filter(user=user, tenant_id=tenant_id, tenant__is_active=True)
        .first()
    )


def tenant_get_by_widget_id(*, widget_id: str) -> Tenant | None:
    return Tenant.objects.select_related("plan").filter(widget_id=widget_id, is_active=True).first()


def plan_list() -> list:
    """Every plan, cheapest first, for the portal's plan comparison."""
    from tenants.models import Plan

    return list(Plan.objects.order_by("sort_order", "monthly_price"))
