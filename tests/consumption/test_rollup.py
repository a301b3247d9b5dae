import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from consumption.models import DailyUsage, UsageEvent
from consumption.selectors import recent_rollup_windows
from consumption.services import daily_usage_rebuild, fx_rate_set
from consumption.tasks import rollup_recent_usage, rollup_usage_days
from tests.consumption.conftest import (
    assert_same,
    column_sums,
    ledger_groups,
    rollup_groups,
    utc,
)

NOV_28, DEC_2 = dt.date(2026, 11, 28), dt.date(2026, 12, 2)

# UTC moments that fall on different local days in Toronto (UTC-5) and Tokyo (UTC+9), across the
# end of November: each lands near a midnight of one of the two tenants.
MOMENTS = [
    utc(2026, 11, 30, 4, 30),  # Toronto Nov 29 23:30 · Tokyo Nov 30 13:30
    utc(2026, 11, 30, 5, 30),  # Toronto Nov 30 00:30
    utc(2026, 11, 30, 14, 59),  # Tokyo Nov 30 23:59
    utc(2026, 11, 30, 15, 1),  # Tokyo Dec 1 00:01
    utc(2026, 12, 1, 4, 59),  # Toronto Nov 30 23:59
    utc(2026, 12, 1, 5, 1),  # Toronto Dec 1 00:01
]
CALLS = [
    {"provider": "anthropic", "model": "claude-haiku-4-5", "key_source": "platform"},
    {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "key_source": "client",
        "cached_input_tokens": 640,
    },
    {
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "key_source": "admin",
        "cache_write_tokens": 900,
    },
    {"provider": "google", "model": "gemini-2.5-flash", "key_source": "client"},
    {"provider": "openai", "model": "gpt-unreleased", "key_source": "platform"},
    {"provider": "demo", "model": "demo", "key_source": "platform"},
]


def seed_two_time_zones(tenant_factory, conversation_for, spend):
    toronto = tenant_factory(name="Toronto", timezone="America/Toronto")
    tokyo = tenant_factory(name="Tokyo", timezone="Asia/Tokyo")
    for tenant in (toronto, tokyo):
        conversations = [conversation_for(tenant) for _ in range(3)]
        for index, moment in enumerate(MOMENTS):
            for number, call in enumerate(CALLS):
                spend(
                    tenant,
                    conversation=conversations[(index + number) % 3],
                    occurred_at=moment + dt.timedelta(seconds=number),
                    input_tokens=1000 + 37 * index + number,
                    output_tokens=200 + 11 * number,
                    **call,
                )
        # A retried attempt that failed after reading the prompt, and one without a conversation.
        failed = spend(tenant, occurred_at=MOMENTS[2], outcome="timeout", output_tokens=0)
        spend(tenant, request_id=failed.request_id, attempt=2, occurred_at=MOMENTS[2])
        spend(tenant, conversation=None, occurred_at=MOMENTS[3], model="claude-haiku-4-5")
    return toronto, tokyo


def rollup_rows() -> list[dict]:
    return list(
        DailyUsage.objects.order_by(
            "tenant", "local_day", "provider", "model", "key_source"
        ).values(*[f.name for f in DailyUsage._meta.fields if f.name not in ("id", "computed_at")])
    )


def test_local_days_split_at_each_tenants_midnight(tenant_factory, conversation_for, spend):
    toronto, tokyo = seed_two_time_zones(tenant_factory, conversation_for, spend)

    def days(tenant):
        return sorted(
            set(UsageEvent.objects.filter(tenant=tenant).values_list("local_day", flat=True))
        )

    assert days(toronto) == [dt.date(2026, 11, 29), dt.date(2026, 11, 30), dt.date(2026, 12, 1)]
    assert days(tokyo) == [dt.date(2026, 11, 30), dt.date(2026, 12, 1)]


def test_rollup_equals_the_ledger(tenant_factory, conversation_for, spend):
    seed_two_time_zones(tenant_factory, conversation_for, spend)

    written = daily_usage_rebuild(start=NOV_28, end=DEC_2)

    assert written == DailyUsage.objects.count() > 0
    assert_same(ledger_groups(), rollup_groups())
    assert_same(column_sums(UsageEvent), column_sums(DailyUsage))


def test_rollup_twice_leaves_the_same_rows(tenant_factory, conversation_for, spend):
    seed_two_time_zones(tenant_factory, conversation_for, spend)
    daily_usage_rebuild(start=NOV_28, end=DEC_2)
    first = rollup_rows()

    daily_usage_rebuild(start=NOV_28, end=DEC_2)

    assert rollup_rows() == first


def test_rollup_picks_up_late_events_without_double_counting(tenant, spend):
    spend(tenant, occurred_at=utc(2026, 11, 10, 15))
    daily_usage_rebuild(start=dt.date(2026, 11, 10), end=dt.date(2026, 11, 10))
    spend(tenant, occurred_at=utc(2026, 11, 10, 16))

    daily_usage_rebuild(start=dt.date(2026, 11, 10), end=dt.date(2026, 11, 10))

    row = DailyUsage.objects.get()
    assert (row.calls, row.input_tokens) == (2, 2400)


def test_rebuilding_one_tenant_leaves_the_others_alone(tenant_factory, spend):
    a, b = tenant_factory(), tenant_factory()
    day = dt.date(2026, 11, 10)
    for tenant in (a, b):
        spend(tenant, occurred_at=utc(2026, 11, 10, 15))
    daily_usage_rebuild(start=day, end=day)
    spend(b, occurred_at=utc(2026, 11, 10, 16))

    daily_usage_rebuild(start=day, end=day, tenant_ids=[a.pk])

    assert DailyUsage.objects.get(tenant=a).calls == 1
    assert DailyUsage.objects.get(tenant=b).calls == 1  # b's late call waits for b's rebuild


def test_cad_uses_the_days_rate_or_the_latest_earlier_one(tenant, spend, settings):
    settings.CHATDIRECT_DEFAULT_USD_CAD = "1.30"
    for day in (9, 10, 12):
        spend(tenant, occurred_at=utc(2026, 11, day, 15), input_tokens=1_000_000, output_tokens=0)
    fx_rate_set(day=dt.date(2026, 11, 10), usd_to_cad=Decimal("1.40"))
    fx_rate_set(day=dt.date(2026, 11, 11), usd_to_cad=Decimal("1.41"))

    daily_usage_rebuild(start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30))

    rates = dict(DailyUsage.objects.values_list("local_day__day", "usd_to_cad"))
    assert rates == {9: Decimal("1.30"), 10: Decimal("1.40"), 12: Decimal("1.41")}
    assert DailyUsage.objects.get(local_day__day=12).cost_cad == Decimal("1.41")  # $1 of input


def test_recent_windows_are_yesterday_and_today_in_each_time_zone(tenant_factory):
    toronto = tenant_factory(timezone="America/Toronto")
    tokyo = tenant_factory(timezone="Asia/Tokyo")

    windows = recent_rollup_windows(now=utc(2026, 12, 1, 2, 0))

    by_tenant = {w.tenant_ids[0]: (w.start, w.end) for w in windows}
    assert by_tenant[toronto.pk] == (dt.date(2026, 11, 29), dt.date(2026, 11, 30))
    assert by_tenant[tokyo.pk] == (dt.date(2026, 11, 30), dt.date(2026, 12, 1))


def test_hourly_task_rolls_up_today(tenant, spend):
    spend(tenant)

    rollup_recent_usage.delay()

    assert DailyUsage.objects.get(tenant=tenant).calls == 1


def test_task_takes_iso_dates(tenant, spend):
    spend(tenant, occurred_at=utc(2026, 11, 10, 15))

    rollup_usage_days.delay(start="2026-11-10", end="2026-11-10", tenant_ids=[tenant.pk])

    assert DailyUsage.objects.get(tenant=tenant).local_day == dt.date(2026, 11, 10)


def test_embedded_default_rolls_up_after_commit(tenant, spend, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        spend(tenant)

    assert DailyUsage.objects.get(tenant=tenant).calls == 1


def test_backfill_command(tenant_factory, conversation_for, spend):
    toronto, _ = seed_two_time_zones(tenant_factory, conversation_for, spend)

    call_command("rollup_usage", "--from", "2026-11-28", "--to", "2026-12-02", verbosity=0)

    assert_same(ledger_groups(), rollup_groups())
    call_command(
        "rollup_usage",
        "--from",
        "2026-11-28",
        "--to",
        "2026-12-02",
        "--tenant",
        toronto.slug,
        verbosity=0,
    )
    assert_same(ledger_groups(), rollup_groups())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_rollup_equals_the_ledger_exactly_on_postgres(tenant_factory, conversation_for, spend):
    seed_two_time_zones(tenant_factory, conversation_for, spend)

    daily_usage_rebuild(start=NOV_28, end=DEC_2)
    first = rollup_rows()
    daily_usage_rebuild(start=NOV_28, end=DEC_2)

    assert ledger_groups() == rollup_groups()
    assert column_sums(UsageEvent) == column_sums(DailyUsage)
    assert rollup_rows() == first
    for row in DailyUsage.objects.all():
        assert row.cost_cad == (row.cost_usd * row.usd_to_cad).quantize(Decimal("1e-12"))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_rebuilds_of_the_same_days_do_not_collide(
    tenant_factory, conversation_for, spend
):
    seed_two_time_zones(tenant_factory, conversation_for, spend)
    errors = []
    start = threading.Barrier(4)

    def rebuild():
        try:
            start.wait()
            for _ in range(3):
                daily_usage_rebuild(start=NOV_28, end=DEC_2)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=rebuild) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert ledger_groups() == rollup_groups()


@pytest.mark.parametrize(
    "arguments",
    [
        ["--from", "2026-12-02", "--to", "2026-12-01"],
        ["--from", "yesterday", "--to", "2026-12-01"],
        ["--from", "2026-12-01", "--to", "2026-12-01", "--tenant", "nobody"],
    ],
)
def test_backfill_command_refuses_bad_arguments(db, arguments):
    with pytest.raises(CommandError):
        call_command("rollup_usage", *arguments, verbosity=0)
