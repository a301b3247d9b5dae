import datetime as dt
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from genai_prices import Usage, calc_price

from consumption.models import PriceOverride, UsageEvent
from consumption.services import usage_record

AT = dt.datetime(2026, 11, 10, 15, 0, tzinfo=dt.UTC)

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


def record(tenant, **kwargs):
    kwargs.setdefault("request_id", "req-1")
    kwargs.setdefault("attempt", 1)
    kwargs.setdefault("provider", "anthropic")
    kwargs.setdefault("model", "claude-haiku-4-5")
    kwargs.setdefault("key_source", "platform")
    kwargs.setdefault("occurred_at", AT)
    return usage_record(tenant=tenant, **kwargs)


@pytest.mark.parametrize(("provider", "model"), MODELS)
def test_known_model_costs_exactly_what_genai_prices_computes(tenant, provider, model):
    event = record(
        tenant,
        provider=provider,
        model=model,
        input_tokens=1234,
        cached_input_tokens=567,
        cache_write_tokens=89,
        output_tokens=321,
    )

    # genai-prices counts cache reads and writes inside input_tokens; the ledger keeps them apart.
    expected = calc_price(
        Usage(
            input_tokens=1234 + 567 + 89,
            cache_read_tokens=567,
            cache_write_tokens=89,
            output_tokens=321,
        ),
        model,
        provider_id=provider,
        genai_request_timestamp=AT,
    ).total_price
    event.refresh_from_db()
    assert event.price_known is True
    assert event.cost_usd == expected
    assert event.cost_usd > 0


def test_haiku_unit_prices_are_stored_with_the_row(tenant):
    event = record(tenant, input_tokens=1_000_000, output_tokens=1_000_000)

    event.refresh_from_db()
    assert (event.input_price, event.cached_input_price) == (Decimal("1"), Decimal("0.1"))
    assert (event.cache_write_price, event.output_price) == (Decimal("1.25"), Decimal("5"))
    assert event.cost_usd == Decimal("6")
    assert event.price_source.startswith("genai-prices")


def test_long_prompt_uses_the_long_context_tier(tenant):
    event = record(tenant, model="claude-sonnet-4-5", input_tokens=250_000, output_tokens=1000)

    assert event.input_price == Decimal("6")
    assert event.output_price == Decimal("22.5")
    assert event.cost_usd == Decimal("1.5225")


def test_unknown_model_is_recorded_at_zero_cost_and_flagged(tenant):
    event = record(tenant, provider="openai", model="gpt-imaginary-9", input_tokens=5000)

    event.refresh_from_db()
    assert event.price_known is False
    assert event.cost_usd == 0
    assert event.input_tokens == 5000
    assert UsageEvent.objects.filter(tenant=tenant, price_known=False).count() == 1


def test_demo_provider_costs_nothing(tenant):
    event = record(tenant, provider="demo", model="demo", input_tokens=500, output_tokens=50)

    assert event.price_known is True
    assert event.cost_usd == 0


def test_attempt_without_tokens_costs_nothing(tenant):
    event = record(tenant, outcome="rate_limited")

    assert event.cost_usd == 0
    assert event.outcome == "rate_limited"


def test_override_applies_from_its_effective_date_only(tenant):
    PriceOverride.objects.create(
        provider="anthropic",
        model="claude-haiku-4-5",
        effective_from=dt.date(2026, 11, 10),
        input_price=Decimal("2"),
        cached_input_price=Decimal("0.2"),
        cache_write_price=Decimal("2.5"),
        output_price=Decimal("10"),
    )
    tokens = {"input_tokens": 1_000_000, "output_tokens": 100_000}

    before = record(tenant, request_id="a", occurred_at=AT - dt.timedelta(days=1), **tokens)
    on = record(tenant, request_id="b", occurred_at=AT, **tokens)

    assert before.cost_usd == Decimal("1.5")
    assert on.cost_usd == Decimal("3")
    assert on.price_source == "override 2026-11-10"


def test_later_override_supersedes_earlier_one_and_history_keeps_its_price(tenant):
    for day, price in ((dt.date(2026, 11, 1), "2"), (dt.date(2026, 11, 20), "4")):
        PriceOverride.objects.create(
            provider="anthropic",
            model="claude-haiku-4-5",
            effective_from=day,
            input_price=Decimal(price),
            cached_input_price=0,
            cache_write_price=0,
            output_price=0,
        )

    early = record(tenant, request_id="a", occurred_at=AT, input_tokens=1_000_000)
    late = record(
        tenant, request_id="b", occurred_at=AT + dt.timedelta(days=15), input_tokens=1_000_000
    )

    early.refresh_from_db()
    assert (early.cost_usd, late.cost_usd) == (Decimal("2"), Decimal("4"))


def test_override_makes_an_unknown_model_known(tenant):
    PriceOverride.objects.create(
        provider="openai",
        model="gpt-private-ft",
        effective_from=dt.date(2026, 1, 1),
        input_price=Decimal("1"),
        cached_input_price=Decimal("0.5"),
        cache_write_price=Decimal("1"),
        output_price=Decimal("2"),
    )

    event = record(tenant, provider="openai", model="gpt-private-ft", output_tokens=500_000)

    assert event.price_known is True
    assert event.cost_usd == Decimal("1")


def test_same_request_and_attempt_is_stored_once(tenant):
    first = record(tenant, input_tokens=100)
    again = record(tenant, input_tokens=100)
    second_attempt = record(tenant, attempt=2, input_tokens=100)

    assert again.pk == first.pk
    assert second_attempt.pk != first.pk
    assert UsageEvent.objects.count() == 2


def test_local_day_follows_the_tenant_time_zone(tenant_factory):
    toronto = tenant_factory(timezone="America/Toronto")
    tokyo = tenant_factory(timezone="Asia/Tokyo")
    moment = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)

    assert record(toronto, request_id="t", occurred_at=moment).local_day == dt.date(2026, 11, 30)
    assert record(tokyo, request_id="k", occurred_at=moment).local_day == dt.date(2026, 12, 1)


def test_negative_tokens_are_refused(tenant):
    with pytest.raises(ValueError):
        record(tenant, input_tokens=-1)


def test_unknown_key_source_is_refused(tenant):
    with pytest.raises(ValueError):
        record(tenant, key_source="borrowed")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
async def test_usage_record_runs_from_async_code(tenant):
    event = await sync_to_async(usage_record)(
        tenant=tenant,
        request_id="async-1",
        attempt=1,
        provider="openai",
        model="gpt-4o-mini",
        key_source="client",
        input_tokens=1000,
    )

    stored = await UsageEvent.objects.filter(request_id="async-1").acount()
    await sync_to_async(connections.close_all)()  # the worker thread's connection, before teardown

    assert event.cost_usd == Decimal("0.00015")
    assert stored == 1
