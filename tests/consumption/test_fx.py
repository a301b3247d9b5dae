import datetime as dt
from decimal import Decimal

import httpx
import pytest
from django.urls import reverse

from consumption import boc
from consumption.models import DailyUsage, FxRate
from consumption.services import daily_usage_rebuild, fx_rate_set, fx_rates_by_day
from tests.consumption.conftest import utc


def valet(payload, status=200):
    """A stand-in for the Bank of Canada at the HTTP edge: no network in tests."""
    return httpx.Client(
        transport=httpx.MockTransport(lambda request: httpx.Response(status, json=payload))
    )


def test_bank_of_canada_observation_is_parsed():
    payload = {"observations": [{"d": "2026-12-03", "FXUSDCAD": {"v": "1.3987"}}]}

    observation = boc.latest_usd_cad(client=valet(payload))

    assert observation == boc.Observation(dt.date(2026, 12, 3), Decimal("1.3987"))


@pytest.mark.parametrize(
    ("payload", "status"),
    [({"observations": []}, 200), ({"unexpected": True}, 200), ({}, 503)],
)
def test_bank_of_canada_failures_store_nothing(payload, status):
    assert boc.latest_usd_cad(client=valet(payload, status)) is None


def test_rates_carry_forward_from_the_latest_earlier_day(db, settings):
    settings.CHATDIRECT_DEFAULT_USD_CAD = "1.35"
    fx_rate_set(day=dt.date(2026, 11, 2), usd_to_cad=Decimal("1.40"))
    fx_rate_set(day=dt.date(2026, 11, 4), usd_to_cad=Decimal("1.42"))

    rates = fx_rates_by_day(start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 5))

    assert list(rates.values()) == [
        Decimal("1.35"),
        Decimal("1.40"),
        Decimal("1.40"),
        Decimal("1.42"),
        Decimal("1.42"),
    ]


def test_setting_a_days_rate_again_replaces_it(db):
    fx_rate_set(day=dt.date(2026, 11, 2), usd_to_cad=Decimal("1.40"))
    fx_rate_set(day=dt.date(2026, 11, 2), usd_to_cad=Decimal("1.41"), source="bank-of-canada")

    assert FxRate.objects.get().usd_to_cad == Decimal("1.41")


def test_a_rate_must_be_positive(db):
    with pytest.raises(ValueError):
        fx_rate_set(day=dt.date(2026, 11, 2), usd_to_cad=Decimal("0"))


def test_a_new_rate_rebuilds_the_days_that_use_it(
    tenant, spend, django_capture_on_commit_callbacks
):
    for day in (9, 10, 11):
        spend(tenant, occurred_at=utc(2026, 11, day, 15), input_tokens=1_000_000, output_tokens=0)
    fx_rate_set(day=dt.date(2026, 11, 11), usd_to_cad=Decimal("1.50"))
    daily_usage_rebuild(start=dt.date(2026, 11, 9), end=dt.date(2026, 11, 11))

    with django_capture_on_commit_callbacks(execute=True):
        fx_rate_set(day=dt.date(2026, 11, 10), usd_to_cad=Decimal("1.45"))

    rates = dict(DailyUsage.objects.values_list("local_day__day", "usd_to_cad"))
    assert rates[10] == Decimal("1.45")  # rebuilt with the new rate
    assert rates[11] == Decimal("1.50")  # its own rate still holds


def test_admin_edits_go_through_the_service(
    client, superuser, tenant, spend, django_capture_on_commit_callbacks
):
    spend(tenant, occurred_at=utc(2026, 11, 10, 15), input_tokens=1_000_000, output_tokens=0)
    client.force_login(superuser)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:consumption_fxrate_add"),
            {"day": "2026-11-01", "usd_to_cad": "1.25", "source": "admin"},
        )

    row = DailyUsage.objects.get(local_day=dt.date(2026, 11, 10))
    assert (row.usd_to_cad, row.cost_cad) == (Decimal("1.25"), Decimal("1.25"))
