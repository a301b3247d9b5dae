"""Writes for consumption: the ledger (append-only), daily rollups and exchange rates."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone as django_timezone

from consumption.models import DailyUsage, FxRate, KeySource, UsageEvent
from consumption.pricing import unit_prices
from conversations.models import Conversation
from tenants.models import Tenant

TOKEN_FIELDS = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens")


def usage_record(
    *,
    tenant: Tenant,
    conversation: Conversation | None = None,
    request_id: str,
    attempt: int,
    provider: str,
    model: str,
    key_source: str,
    input_tokens: int = 0,
    cached_input_tokens: int = 0,
    cache_write_tokens: int = 0,
    output_tokens: int = 0,
    outcome: str = "ok",
    occurred_at: dt.datetime | None = None,
    first_write: bool = False,
) -> UsageEvent:
    """Write the ledger row for one provider attempt, priced now, once.

    Token classes do not overlap (as in conversations.providers.base.TokenUsage). Writing the same
    (request_id, attempt) again returns the row already stored, so a retried write never double
    counts. `first_write=True` is the caller's word that this (request_id, attempt) was never
    written (it made the request id itself): the insert then needs no savepoint to recover from a
    conflict, two round trips less inside the chat reply's transaction. Sync on purpose; async
    callers wrap it in sync_to_async.
    """
    tokens = {
        "input_tokens": input_tokens,
        "cached_input_tokens": cached_input_tokens,
        "cache_write_tokens": cache_write_tokens,
        "output_tokens": output_tokens,
    }
    if any(not isinstance(n, int) or n < 0 for n in tokens.values()):
        raise ValueError(f"token counts must be non-negative integers: {tokens}")
    if key_source not in KeySource.values:
        raise ValueError(f"unknown key_source {key_source!r}")
    if conversation is not None and conversation.tenant_id != tenant.pk:
        raise ValueError("the conversation belongs to another tenant")
    occurred_at = occurred_at or django_timezone.now()
    if django_timezone.is_naive(occurred_at):
        raise ValueError("occurred_at must be timezone-aware")

    prices = unit_prices(
        provider=provider,
        model=model,
        at=occurred_at,
        prompt_tokens=input_tokens + cached_input_tokens + cache_write_tokens,
    )
    local_day = occurred_at.astimezone(zoneinfo.ZoneInfo(tenant.timezone)).date()
    event = UsageEvent(
        tenant=tenant,
        conversation=conversation,
        request_id=request_id,
        attempt=attempt,
        provider=provider,
        model=model,
        key_source=key_source,
        outcome=outcome or "ok",
        **tokens,
        input_price=prices.input,
        cached_input_price=prices.cached_input,
        cache_write_price=prices.cache_write,
        output_price=prices.output,
        price_known=prices.known,
        price_source=prices.source,
        cost_usd=prices.cost(**tokens),
        occurred_at=occurred_at.astimezone(dt.UTC),
        local_day=local_day,
    )
    if first_write:
        event.save(force_insert=True)
    else:
        # Insert first and look only on a conflict: a write is almost never a repeat.
        try:
            with transaction.atomic():
                event.save(force_insert=True)
        except IntegrityError:
            # This attempt was written before (a retried write, or a concurrent one that won).
            return UsageEvent.objects.get(request_id=request_id, attempt=attempt)
    _rollup_when_no_beat(tenant_id=tenant.pk, day=local_day)
    return event


def _rollup_when_no_beat(*, tenant_id: int, day: dt.date) -> None:
    # The embedded default runs tasks eagerly and has no beat, so nothing would ever roll up;
    # there, refresh the day after commit. With a real broker, the hourly beat does it.
    from chatdirect.celery import app

    if not app.conf.task_always_eager:
        return
    from consumption.tasks import rollup_usage_days

    transaction.on_commit(
        lambda: rollup_usage_days.delay(
            start=day.isoformat(), end=day.isoformat(), tenant_ids=[tenant_id]
        )
    )


def default_usd_to_cad() -> Decimal:
    return Decimal(str(settings.CHATDIRECT_DEFAULT_USD_CAD))


def fx_rate_set(*, day: dt.date, usd_to_cad: Decimal, source: str = "admin") -> FxRate:
    """Store the day's USD→CAD rate and queue the rebuild of every day that now uses it."""
    if usd_to_cad <= 0:
        raise ValueError("a USD→CAD rate must be positive")
    with transaction.atomic():
        rate, _ = FxRate.objects.update_or_create(
            day=day, defaults={"usd_to_cad": usd_to_cad, "source": source}
        )
        _rollup_days_using_rate(day=day)
    return rate


def fx_rate_delete(*, rate: FxRate) -> None:
    with transaction.atomic():
        day = rate.day
        rate.delete()
        _rollup_days_using_rate(day=day)


def _rollup_days_using_rate(*, day: dt.date) -> None:
    # A rate holds until the next stored one, so a change reaches every day up to that one
    # (or today, in the time zone furthest ahead).
    later = FxRate.objects.filter(day__gt=day).order_by("day").values_list("day", flat=True).first()
    end = (
        later - dt.timedelta(days=1)
        if later
        else django_timezone.now().date() + dt.timedelta(days=1)
    )
    if end < day:
        return
    from consumption.tasks import rollup_usage_days

    transaction.on_commit(
        lambda: rollup_usage_days.delay(start=day.isoformat(), end=end.isoformat())
    )


def fx_rates_by_day(*, start: dt.date, end: dt.date) -> dict[dt.date, Decimal]:
    """The USD→CAD rate of every day start..end: its own, else the latest earlier, else the default."""
    earlier = FxRate.objects.filter(day__lt=start).order_by("-day").first()
    stored = dict(FxRate.objects.filter(day__range=(start, end)).values_list("day", "usd_to_cad"))
    rate = earlier.usd_to_cad if earlier else default_usd_to_cad()
    rates = {}
    day = start
    while day <= end:
        rate = stored.get(day, rate)
        rates[day] = rate
        day += dt.timedelta(days=1)
    return rates


def daily_usage_rebuild(
    *, start: dt.date, end: dt.date, tenant_ids: list[int] | None = None
) -> int:
    """Recompute the rollups of whole tenant-local days start..end (inclusive) from the ledger.

    One transaction: the days' rows are deleted and re-inserted by one INSERT … SELECT … GROUP BY,
    so a rerun gives the same rows and a reader never sees a half-built day. Returns rows written.
    """
    if end < start:
        raise ValueError("end is before start")
    if tenant_ids is not None and not tenant_ids:
        return 0
    ops = connection.ops
    event_table = ops.quote_name(UsageEvent._meta.db_table)
    daily_table = ops.quote_name(DailyUsage._meta.db_table)
    where = "e.local_day BETWEEN %s AND %s"
    where_params: list = [ops.adapt_datefield_value(start), ops.adapt_datefield_value(end)]
    if tenant_ids is not None:
        where += f" AND e.tenant_id IN ({', '.join(['%s'] * len(tenant_ids))})"
        where_params += list(tenant_ids)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Two rebuilds of the same day (beat and a backfill) would both delete, then collide on
            # insert; taking turns makes the later one simply win.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('consumption.rollup'))")
        # Rates are resolved per day up front (a few hundred at most) and joined to the grouped
        # rows, rather than looked up once per output row inside the aggregate.
        rates = fx_rates_by_day(start=start, end=end)
        rate_params: list = []
        for day, rate in rates.items():
            rate_params += [
                ops.adapt_datefield_value(day),
                ops.adapt_decimalfield_value(rate, 10, 6),
            ]
        rate_rows = ", ".join(["(%s, %s)"] * len(rates))
        sql = f"""
            INSERT INTO {daily_table} (
                tenant_id, local_day, provider, model, key_source, calls, conversations,
                input_tokens, cached_input_tokens, cache_write_tokens, output_tokens,
                cost_usd, cost_cad, usd_to_cad, unknown_price_calls, computed_at
            )
            WITH rate (day, usd_to_cad) AS (VALUES {rate_rows})
            SELECT g.tenant_id, g.local_day, g.provider, g.model, g.key_source, g.calls,
                   g.conversations, g.input_tokens, g.cached_input_tokens, g.cache_write_tokens,
                   g.output_tokens, g.cost_usd, g.cost_usd * rate.usd_to_cad, rate.usd_to_cad,
                   g.unknown_price_calls, %s
            FROM (
                SELECT e.tenant_id, e.local_day, e.provider, e.model, e.key_source,
                       COUNT(*) AS calls,
                       COUNT(DISTINCT e.conversation_id) AS conversations,
                       SUM(e.input_tokens) AS input_tokens,
                       SUM(e.cached_input_tokens) AS cached_input_tokens,
                       SUM(e.cache_write_tokens) AS cache_write_tokens,
                       SUM(e.output_tokens) AS output_tokens,
                       SUM(e.cost_usd) AS cost_usd,
                       SUM(CASE WHEN e.price_known THEN 0 ELSE 1 END) AS unknown_price_calls
                FROM {event_table} e
                WHERE {where}
                GROUP BY e.tenant_id, e.local_day, e.provider, e.model, e.key_source
            ) g
            JOIN rate ON rate.day = g.local_day
        """  # noqa: S608 (only quoted table names and placeholders are interpolated)
        computed_at = ops.adapt_datetimefield_value(django_timezone.now())
        stale = DailyUsage.objects.filter(local_day__range=(start, end))
        if tenant_ids is not None:
            stale = stale.filter(tenant_id__in=tenant_ids)
        stale.delete()
        with connection.cursor() as cursor:
            cursor.execute(sql, [*rate_params, computed_at, *where_params])
            return cursor.rowcount
