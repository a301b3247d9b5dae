import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from chatdirect.errors import CapReached
from tenants.models import ConversationCounter, Tenant
from tenants.selectors import billing_period, cap_usage
from tenants.services import conversation_release, conversation_reserve

UTC = dt.UTC


def _fill(tenant: Tenant, platform_conversations: int, at: dt.datetime | None = None) -> None:
    ConversationCounter.objects.update_or_create(
        tenant=tenant,
        period=billing_period(tenant=tenant, at=at),
        defaults={"platform_conversations": platform_conversations},
    )


def test_reservation_counts_one_conversation(tenant):
    conversation_reserve(tenant=tenant, key_source="platform")
    conversation_reserve(tenant=tenant, key_source="platform")

    usage = cap_usage(tenant=tenant)
    assert usage.platform_conversations == 2
    assert usage.remaining == tenant.plan.monthly_conversation_cap - 2


def test_reservation_refused_at_cap(tenant):
    _fill(tenant, tenant.plan.monthly_conversation_cap)

    with pytest.raises(CapReached):
        conversation_reserve(tenant=tenant, key_source="platform")
    assert cap_usage(tenant=tenant).platform_conversations == tenant.plan.monthly_conversation_cap


def test_release_gives_capacity_back(tenant):
    _fill(tenant, tenant.plan.monthly_conversation_cap - 1)
    reservation = conversation_reserve(tenant=tenant, key_source="platform")
    with pytest.raises(CapReached):
        conversation_reserve(tenant=tenant, key_source="platform")

    conversation_release(reservation=reservation)

    conversation_reserve(tenant=tenant, key_source="platform")


def test_release_never_goes_below_zero(tenant):
    reservation = conversation_reserve(tenant=tenant, key_source="platform")
    conversation_release(reservation=reservation)
    conversation_release(reservation=reservation)

    assert cap_usage(tenant=tenant).platform_conversations == 0


@pytest.mark.parametrize("key_source", ["client", "admin"])
def test_dedicated_key_is_counted_but_never_refused(tenant, key_source):
    _fill(tenant, tenant.plan.monthly_conversation_cap)

    for _ in range(5):
        conversation_reserve(tenant=tenant, key_source=key_source)

    usage = cap_usage(tenant=tenant)
    assert usage.dedicated_conversations == 5
    assert usage.platform_conversations == tenant.plan.monthly_conversation_cap


def test_client_mode_with_working_key_is_never_refused_at_any_count(tenant_factory):
    tenant = tenant_factory(api_key_mode=Tenant.ApiKeyMode.CLIENT)
    for count in (
        0,
        tenant.plan.monthly_conversation_cap,
        10 * tenant.plan.monthly_conversation_cap,
    ):
        _fill(tenant, count)
        conversation_reserve(tenant=tenant, key_source="client")


def test_dedicated_conversations_do_not_use_up_the_platform_cap(tenant):
    _fill(tenant, tenant.plan.monthly_conversation_cap - 1)
    for _ in range(3):
        conversation_reserve(tenant=tenant, key_source="client")

    conversation_reserve(tenant=tenant, key_source="platform")


def test_release_returns_to_the_period_it_was_taken_from(tenant):
    march = dt.datetime(2026, 3, 31, 12, tzinfo=UTC)
    reservation = conversation_reserve(tenant=tenant, key_source="platform", at=march)
    conversation_reserve(tenant=tenant, key_source="platform", at=march + dt.timedelta(days=2))

    conversation_release(reservation=reservation)

    assert cap_usage(tenant=tenant, at=march).platform_conversations == 0
    assert cap_usage(tenant=tenant, at=march + dt.timedelta(days=2)).platform_conversations == 1


@pytest.mark.parametrize(
    ("timezone", "last_moment_of_march_utc"),
    [
        # Toronto is UTC-4 in spring (EDT): its April starts at 04:00 UTC.
        ("America/Toronto", dt.datetime(2026, 4, 1, 3, 59, 59, tzinfo=UTC)),
        # Tokyo is UTC+9: its April starts at 15:00 UTC on March 31.
        ("Asia/Tokyo", dt.datetime(2026, 3, 31, 14, 59, 59, tzinfo=UTC)),
    ],
)
def test_new_month_starts_at_zero_in_the_tenants_time_zone(
    tenant_factory, timezone, last_moment_of_march_utc
):
    tenant = tenant_factory(timezone=timezone)
    _fill(tenant, tenant.plan.monthly_conversation_cap, at=last_moment_of_march_utc)

    with pytest.raises(CapReached):
        conversation_reserve(tenant=tenant, key_source="platform", at=last_moment_of_march_utc)
    first_moment_of_april = last_moment_of_march_utc + dt.timedelta(seconds=1)
    reservation = conversation_reserve(
        tenant=tenant, key_source="platform", at=first_moment_of_april
    )

    assert reservation.period == dt.date(2026, 4, 1)
    assert cap_usage(tenant=tenant, at=first_moment_of_april).platform_conversations == 1


def test_billing_period_differs_by_time_zone_at_the_same_instant(tenant_factory):
    instant = dt.datetime(2026, 3, 31, 20, tzinfo=UTC)
    toronto = tenant_factory(timezone="America/Toronto")
    tokyo = tenant_factory(timezone="Asia/Tokyo")

    assert billing_period(tenant=toronto, at=instant) == dt.date(2026, 3, 1)
    assert billing_period(tenant=tokyo, at=instant) == dt.date(2026, 4, 1)


def test_common_case_reservation_is_one_query(tenant, django_assert_num_queries):
    conversation_reserve(tenant=tenant, key_source="platform")  # creates this month's counter

    with django_assert_num_queries(1):
        conversation_reserve(tenant=tenant, key_source="platform")


def _reserve_concurrently(tenant: Tenant, attempts: int) -> tuple[int, int]:
    start = threading.Barrier(attempts)

    def attempt(_: int) -> bool:
        try:
            start.wait()
            conversation_reserve(tenant=tenant, key_source="platform")
            return True
        except CapReached:
            return False
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        outcomes = list(pool.map(attempt, range(attempts)))
    return outcomes.count(True), outcomes.count(False)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_reservations_never_overshoot_the_cap(tenant):
    assert connection.vendor == "postgresql"
    _fill(tenant, tenant.plan.monthly_conversation_cap - 5)

    successes, refusals = _reserve_concurrently(tenant, 50)

    assert (successes, refusals) == (5, 45)
    assert cap_usage(tenant=tenant).platform_conversations == tenant.plan.monthly_conversation_cap


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_reservations_on_a_new_month_create_one_counter(tenant):
    successes, refusals = _reserve_concurrently(tenant, 50)

    assert (successes, refusals) == (50, 0)
    assert ConversationCounter.objects.filter(tenant=tenant).count() == 1
    assert cap_usage(tenant=tenant).platform_conversations == 50


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_releases_give_capacity_back_exactly(tenant):
    _fill(tenant, tenant.plan.monthly_conversation_cap - 5)
    reservations = [conversation_reserve(tenant=tenant, key_source="platform") for _ in range(5)]

    with ThreadPoolExecutor(max_workers=5) as pool:
        list(
            pool.map(
                lambda r: (conversation_release(reservation=r), connections.close_all()),
                reservations,
            )
        )

    successes, refusals = _reserve_concurrently(tenant, 20)
    assert (successes, refusals) == (5, 15)
