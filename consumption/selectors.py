"""Reads for consumption. Page figures come from DailyUsage, so their cost does not grow with the ledger."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, Max, Sum
from django.utils import timezone as django_timezone

from consumption.models import COST_FIELD, DailyUsage, KeySource
from conversations.models import PROVIDER_CHOICES
from tenants.models import Tenant

ZERO = Decimal(0)
_COST_QUANTUM = Decimal(10) ** -COST_FIELD["decimal_places"]
PROVIDER_LABELS = dict(PROVIDER_CHOICES)
KEY_SOURCE_LABELS = {
    KeySource.PLATFORM: "Platform key",
    KeySource.ADMIN: "Admin-managed key",
    KeySource.CLIENT: "Own key (BYOK)",
}


@dataclass(frozen=True)
class RollupWindow:
    start: dt.date
    end: dt.date
    tenant_ids: list[int]


def recent_rollup_windows(*, now: dt.datetime | None = None) -> list[RollupWindow]:
    """Yesterday and today for every tenant, grouped by time zone so each group is one rebuild."""
    now = now or django_timezone.now()
    by_zone: dict[str, list[int]] = defaultdict(list)
    for tenant_id, zone in Tenant.objects.values_list("id", "timezone").order_by("id"):
        by_zone[zone].append(tenant_id)
    windows = []
    for zone, tenant_ids in sorted(by_zone.items()):
        today = now.astimezone(zoneinfo.ZoneInfo(zone)).date()
        windows.append(RollupWindow(today - dt.timedelta(days=1), today, tenant_ids))
    return windows


@dataclass(frozen=True)
class UsageRow:
    """One line of the consumption table: a provider, model and key source over the period."""

    provider: str
    model: str
    key_source: str
    calls: int
    conversations: int
    input_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    output_tokens: int
    cost_usd: Decimal
    cost_cad: Decimal
    unknown_price_calls: int = 0
    tenant_id: int | None = None
    tenant_name: str = ""

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.cached_input_tokens
            + self.cache_write_tokens
            + self.output_tokens
        )

    @property
    def provider_label(self) -> str:
        return PROVIDER_LABELS.get(self.provider, self.provider)

    @property
    def key_source_label(self) -> str:
        return KEY_SOURCE_LABELS.get(self.key_source, self.key_source)


@dataclass(frozen=True)
class DayPoint:
    day: dt.date
    calls: int
    total_tokens: int
    cost_usd: Decimal
    cost_cad: Decimal


@dataclass(frozen=True)
class Totals:
    calls: int
    conversations: int
    input_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    output_tokens: int
    cost_usd: Decimal
    cost_cad: Decimal
    unknown_price_calls: int

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.cached_input_tokens
            + self.cache_write_tokens
            + self.output_tokens
        )


@dataclass(frozen=True)
class ConsumptionReport:
    start: dt.date
    end: dt.date
    totals: Totals
    rows: list[UsageRow]
    days: list[DayPoint]
    computed_at: dt.datetime | None


_SUMS = {
    "calls": Sum("calls"),
    "conversations": Sum("conversations"),
    "input_tokens": Sum("input_tokens"),
    "cached_input_tokens": Sum("cached_input_tokens"),
    "cache_write_tokens": Sum("cache_write_tokens"),
    "output_tokens": Sum("output_tokens"),
    "cost_usd": Sum("cost_usd"),
    "cost_cad": Sum("cost_cad"),
    "unknown_price_calls": Sum("unknown_price_calls"),
}


def _daily(*, tenant: Tenant | None, start: dt.date, end: dt.date):
    rows = DailyUsage.objects.filter(local_day__range=(start, end))
    return rows if tenant is None else rows.filter(tenant=tenant)


def consumption_by_model(*, tenant: Tenant | None, start: dt.date, end: dt.date) -> list[UsageRow]:
    """Per provider, model and key source; for every tenant together when `tenant` is None."""
    grouped = (
        _daily(tenant=tenant, start=start, end=end)
        .values("provider", "model", "key_source")
        .annotate(**_SUMS)
        .order_by("-cost_usd", "provider", "model", "key_source")
    )
    return [UsageRow(**_money(row)) for row in grouped]


def consumption_by_tenant(*, start: dt.date, end: dt.date) -> list[UsageRow]:
    """Per tenant, all models together: the admin's all-tenants report."""
    grouped = (
        _daily(tenant=None, start=start, end=end)
        .values("tenant_id", "tenant__name")
        .annotate(**_SUMS)
        .order_by("-cost_usd", "tenant__name")
    )
    return [
        UsageRow(
            provider="",
            model="",
            key_source="",
            tenant_name=row.pop("tenant__name"),
            **_money(row),
        )
        for row in grouped
    ]


def consumption_by_day(*, tenant: Tenant | None, start: dt.date, end: dt.date) -> list[DayPoint]:
    """Every day of the period, days without usage at zero, so a chart has no gaps."""
    grouped = (
        _daily(tenant=tenant, start=start, end=end)
        .values("local_day")
        .annotate(
            calls=Sum("calls"),
            total_tokens=Sum(
                F("input_tokens")
                + F("cached_input_tokens")
                + F("cache_write_tokens")
                + F("output_tokens")
            ),
            cost_usd=Sum("cost_usd"),
            cost_cad=Sum("cost_cad"),
        )
        .order_by("local_day")
    )
    found = {row.pop("local_day"): row for row in grouped}
    points = []
    day = start
    while day <= end:
        row = found.get(day)
        points.append(
            DayPoint(day=day, **_money(row))
            if row
            else DayPoint(day=day, calls=0, total_tokens=0, cost_usd=ZERO, cost_cad=ZERO)
        )
        day += dt.timedelta(days=1)
    return points


def consumption_totals(*, rows: list[UsageRow]) -> Totals:
    return Totals(
        calls=sum(row.calls for row in rows),
        conversations=sum(row.conversations for row in rows),
        input_tokens=sum(row.input_tokens for row in rows),
        cached_input_tokens=sum(row.cached_input_tokens for row in rows),
        cache_write_tokens=sum(row.cache_write_tokens for row in rows),
        output_tokens=sum(row.output_tokens for row in rows),
        cost_usd=sum((row.cost_usd for row in rows), ZERO),
        cost_cad=sum((row.cost_cad for row in rows), ZERO),
        unknown_price_calls=sum(row.unknown_price_calls for row in rows),
    )


def consumption_report(*, tenant: Tenant | None, start: dt.date, end: dt.date) -> ConsumptionReport:
    """Everything the Consumption page shows, in three queries whatever the amount of data."""
    rows = consumption_by_model(tenant=tenant, start=start, end=end)
    return ConsumptionReport(
        start=start,
        end=end,
        totals=consumption_totals(rows=rows),
        rows=rows,
        days=consumption_by_day(tenant=tenant, start=start, end=end),
        computed_at=_daily(tenant=tenant, start=start, end=end).aggregate(
            latest=Max("computed_at")
        )["latest"],
    )


def _money(row: dict) -> dict:
    """Sums with None (no rows) as zero and money at the ledger's twelve decimals on either database."""
    cleaned = {}
    for name, value in row.items():
        if name in ("cost_usd", "cost_cad"):
            cleaned[name] = Decimal(value or 0).quantize(_COST_QUANTUM)
        else:
            cleaned[name] = value or 0
    return cleaned


# Per-resolution prices of AI agents that charge by outcome (Intercom Fin and its peers).
RESOLUTION_PRICE_LOW = Decimal("0.50")
RESOLUTION_PRICE_HIGH = Decimal("1.00")


@dataclass(frozen=True)
class ByokComparison:
    resolutions: int
    token_cost_usd: Decimal

    @property
    def per_resolution_low(self) -> Decimal:
        return self.resolutions * RESOLUTION_PRICE_LOW

    @property
    def per_resolution_high(self) -> Decimal:
        return self.resolutions * RESOLUTION_PRICE_HIGH

    @property
    def cost_per_resolution(self) -> Decimal | None:
        return self.token_cost_usd / self.resolutions if self.resolutions else None


def byok_comparison(*, totals: Totals) -> ByokComparison:
    """The period's token cost against per-resolution pricing; resolutions are its conversations."""
    return ByokComparison(resolutions=totals.conversations, token_cost_usd=totals.cost_usd)
