"""Consumption at scale on PostgreSQL (issue 6).

Seeds one million ledger rows with INSERT … SELECT generate_series: 20 tenants in four time zones,
a year each, every tenant served by its route's model and one call in twenty failing over to
another model (so about two rollup rows per tenant and day). Then reports:
- the rollup (`daily_usage_rebuild` over the whole year) against one plain INSERT … SELECT …
  GROUP BY doing the same aggregation into a scratch table (target: within 1.3×);
- the Consumption page's server time and query count for one tenant with a year of data
  (targets: the query count does not grow with the data; under 100 ms).

Run: python bench/bench_consumption.py [rows]   (default 1,000,000)
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time

import _django

_django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Sum  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from consumption.models import DailyUsage, UsageEvent  # noqa: E402
from consumption.pricing import catalog_prices  # noqa: E402
from consumption.services import daily_usage_rebuild  # noqa: E402
from conversations.models import Conversation, Visitor  # noqa: E402
from tenants.models import Membership, Plan, Tenant  # noqa: E402
from tenants.services import membership_set, tenant_create, user_create  # noqa: E402

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
TENANTS = 20
CALLS_PER_CONVERSATION = 20
ZONES = ["America/Toronto", "America/Vancouver", "Europe/Paris", "Asia/Tokyo"]
MODELS = [
    ("anthropic", "claude-haiku-4-5"),
    ("anthropic", "claude-sonnet-4-5"),
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-4o"),
    ("google", "gemini-2.0-flash"),
    ("google", "gemini-2.5-flash"),
    ("mistral", "mistral-small-latest"),
    ("mistral", "mistral-large-latest"),
]
YEAR_END = dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC)
YEAR_START = YEAR_END - dt.timedelta(days=365)
REPEATS = 5


def tenants_ensure() -> list[Tenant]:
    plan = Plan.objects.get(name="Pro")
    tenants = []
    for n in range(TENANTS):
        slug = f"bench-cons-{n:02d}"
        tenant = Tenant.objects.filter(slug=slug).first() or tenant_create(
            name=f"Bench consumption {n:02d}", slug=slug, plan=plan, timezone=ZONES[n % len(ZONES)]
        )
        tenants.append(tenant)
    return tenants


def seed(tenants: list[Tenant]) -> float:
    ids = [t.pk for t in tenants]
    began = time.perf_counter()
    # Only this bench's tenants: other benches may share the database.
    with connection.cursor() as cursor:
        for model in (UsageEvent, DailyUsage):
            cursor.execute(
                f"DELETE FROM {model._meta.db_table} WHERE tenant_id = ANY(%s)",  # noqa: S608
                [ids],
            )
    Conversation.objects.filter(tenant_id__in=ids).delete()
    Visitor.objects.filter(tenant_id__in=ids).delete()
    visitors = {t.pk: Visitor.objects.create(tenant=t) for t in tenants}
    conversations = ROWS // CALLS_PER_CONVERSATION
    Conversation.objects.bulk_create(
        (
            Conversation(
                tenant=tenants[k % TENANTS], visitor=visitors[tenants[k % TENANTS].pk], mode="ai"
            )
            for k in range(conversations)
        ),
        batch_size=10_000,
    )
    prices = []
    for index, (provider, model) in enumerate(MODELS):
        unit = catalog_prices(provider=provider, model=model, at=YEAR_END)
        assert unit.known, (provider, model)
        prices.append(
            f"({index}, '{provider}', '{model}', {unit.input}, {unit.cached_input}, "
            f"{unit.cache_write}, {unit.output})"
        )
    seconds_per_row = 365 * 86_400 / ROWS
    sql = f"""
        WITH conv AS (
            SELECT (row_number() OVER (ORDER BY c.id)) - 1 AS k, c.id, c.tenant_id, t.timezone
            FROM conversations_conversation c JOIN tenants_tenant t ON t.id = c.tenant_id
            WHERE c.tenant_id = ANY(%s)
        ),
        m(k, provider, model, p_in, p_cached, p_write, p_out) AS (VALUES {", ".join(prices)}),
        g AS (
            SELECT n,
                   %s::timestamptz + make_interval(secs => n * {seconds_per_row}) AS at,
                   500 + (n * 7919) %% 3000 AS input_tokens,
                   CASE WHEN n %% 4 = 0 THEN 800 ELSE 0 END AS cached_input_tokens,
                   CASE WHEN n %% 10 = 0 THEN 300 ELSE 0 END AS cache_write_tokens,
                   50 + (n * 104729) %% 600 AS output_tokens
            FROM generate_series(0::bigint, %s - 1) AS n
        )
        INSERT INTO {UsageEvent._meta.db_table} (
            tenant_id, conversation_id, request_id, attempt, provider, model, key_source, outcome,
            input_tokens, cached_input_tokens, cache_write_tokens, output_tokens,
            input_price, cached_input_price, cache_write_price, output_price,
            price_known, price_source, cost_usd, occurred_at, local_day, recorded_at
        )
        SELECT conv.tenant_id, conv.id, 'bench-' || g.n, 1, m.provider, m.model,
               (ARRAY['platform', 'client', 'admin'])[1 + conv.tenant_id %% 3],
               CASE WHEN g.n %% 97 = 0 THEN 'timeout' ELSE 'ok' END,
               g.input_tokens, g.cached_input_tokens, g.cache_write_tokens, g.output_tokens,
               m.p_in, m.p_cached, m.p_write, m.p_out, true, 'bench',
               (g.input_tokens * m.p_in + g.cached_input_tokens * m.p_cached
                + g.cache_write_tokens * m.p_write + g.output_tokens * m.p_out) / 1000000,
               g.at, (g.at AT TIME ZONE conv.timezone)::date, now()
        FROM g
        JOIN conv ON conv.k = g.n / {CALLS_PER_CONVERSATION}
        -- A tenant is served by the one model of its route; one call in twenty fails over.
        JOIN m ON m.k = (conv.tenant_id + CASE WHEN g.n %% 20 = 0 THEN 1 ELSE 0 END) %% {len(MODELS)}
    """  # noqa: S608 (only constants of this script are interpolated)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [ids, YEAR_START, ROWS])
        cursor.execute(f"ANALYZE {UsageEvent._meta.db_table}")
    return time.perf_counter() - began


def time_rollup(start: dt.date, end: dt.date, ids: list[int]) -> float:
    began = time.perf_counter()
    daily_usage_rebuild(start=start, end=end, tenant_ids=ids)
    return time.perf_counter() - began


def time_plain_group_by(start: dt.date, end: dt.date, ids: list[int]) -> float:
    """The floor: one INSERT … SELECT … GROUP BY of the same aggregates into a scratch table."""
    table = UsageEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_rollup_scratch")
        cursor.execute(
            f"CREATE TABLE bench_rollup_scratch (LIKE {DailyUsage._meta.db_table} INCLUDING DEFAULTS INCLUDING IDENTITY)"  # noqa: S608
        )
        began = time.perf_counter()
        with transaction.atomic():
            cursor.execute(
                f"""
                INSERT INTO bench_rollup_scratch (
                    tenant_id, local_day, provider, model, key_source, calls, conversations,
                    input_tokens, cached_input_tokens, cache_write_tokens, output_tokens,
                    cost_usd, cost_cad, usd_to_cad, unknown_price_calls, computed_at
                )
                SELECT tenant_id, local_day, provider, model, key_source,
                       COUNT(*), COUNT(DISTINCT conversation_id), SUM(input_tokens),
                       SUM(cached_input_tokens), SUM(cache_write_tokens), SUM(output_tokens),
                       SUM(cost_usd), SUM(cost_usd) * 1.38, 1.38,
                       SUM(CASE WHEN price_known THEN 0 ELSE 1 END), now()
                FROM {table}
                WHERE local_day BETWEEN %s AND %s AND tenant_id = ANY(%s)
                GROUP BY tenant_id, local_day, provider, model, key_source
                """,  # noqa: S608
                [start, end, ids],
            )
        elapsed = time.perf_counter() - began
        cursor.execute("DROP TABLE bench_rollup_scratch")
    return elapsed


def page_timings(tenant: Tenant) -> list[tuple[str, float, int]]:
    # The test client's host, without setup_test_environment's template instrumentation, which
    # would add test-only overhead to the server time measured here.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    username = "bench-cons-owner"
    user = get_user_model().objects.filter(username=username).first() or user_create(
        username=username, email="bench@example.com", password="bench-pw-123!"
    )
    membership_set(tenant=tenant, user=user, role=Membership.Role.OWNER)
    client = Client()
    client.force_login(user)
    last = YEAR_END.date()
    queries = {
        "this month": {"range": "custom", "start": last.replace(day=1), "end": last},
        "90 days": {"range": "custom", "start": last - dt.timedelta(days=89), "end": last},
        "whole year": {"range": "custom", "start": last - dt.timedelta(days=364), "end": last},
    }
    results = []
    for label, params in queries.items():
        response = client.get("/portal/consumption/", params)
        assert response.status_code == 200, response.status_code
        samples = []
        for _ in range(15):
            with CaptureQueriesContext(connection) as captured:
                began = time.perf_counter()
                client.get("/portal/consumption/", params)
                samples.append(time.perf_counter() - began)
        results.append((label, statistics.median(samples), len(captured)))
    return results


def main() -> None:
    tenants = tenants_ensure()
    seeded_in = seed(tenants)
    ids = [t.pk for t in tenants]
    ledger = UsageEvent.objects.filter(tenant_id__in=ids)
    span = ledger.order_by("local_day").values_list("local_day", flat=True)
    start, end = span.first(), span.last()

    rollups, plains = [], []
    for _ in range(REPEATS):
        plains.append(time_plain_group_by(start, end, ids))
        rollups.append(time_rollup(start, end, ids))
    # Medians of interleaved runs: other work on a small machine moves single timings by ±30 %.
    rollup, plain = statistics.median(rollups), statistics.median(plains)
    daily_rows = DailyUsage.objects.filter(tenant_id__in=ids).count()
    rollups_of_bench = DailyUsage.objects.filter(tenant_id__in=ids)
    assert rollups_of_bench.aggregate(n=Sum("calls"))["n"] == ledger.count() == ROWS

    pages = page_timings(tenants[0])
    tenant_rows = UsageEvent.objects.filter(tenant=tenants[0]).count()

    print(
        f"consumption: PostgreSQL {connection.pg_version // 10000}, {ROWS:,} ledger rows, "
        f"{TENANTS} tenants, local days {start} … {end}"
    )
    print(f"  seed (INSERT … SELECT generate_series)  {seeded_in:.1f} s")
    print(f"  {'':<40} {'median':>8} {'best':>8}   (of {REPEATS}, interleaved)")
    print(
        f"  {'rollup, whole year (daily_usage_rebuild)':<40} {rollup:7.2f}s {min(rollups):7.2f}s   {daily_rows:,} DailyUsage rows"
    )
    print(f"  {'plain INSERT … SELECT … GROUP BY':<40} {plain:7.2f}s {min(plains):7.2f}s")
    print(
        f"  {'ratio rollup / plain':<40} {rollup / plain:7.2f}× {min(rollups) / min(plains):7.2f}×   target ≤ 1.30"
    )
    print(
        f"  Consumption page, one tenant with a year of data ({tenant_rows:,} ledger rows), median of 15:"
    )
    for label, seconds, count in pages:
        print(f"    {label:<12} {seconds * 1000:7.1f} ms  {count:3d} queries   target < 100 ms")
    counts = {count for _, _, count in pages}
    print(f"  query count constant across periods: {'yes' if len(counts) == 1 else 'NO'}")


if __name__ == "__main__":
    main()
