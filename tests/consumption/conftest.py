import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, Sum

from consumption.models import DailyUsage, UsageEvent
from consumption.services import usage_record
from conversations.services.engine import conversation_start
from conversations.services.visitors import visitor_session_start

SUMMED = [
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "cost_usd",
]
GROUP = ["tenant_id", "local_day", "provider", "model", "key_source"]
_request_ids = itertools.count(1)


@pytest.fixture
def conversation_for(db):
    def make(tenant):
        visitor = visitor_session_start(tenant=tenant).visitor
        return conversation_start(tenant=tenant, visitor=visitor)

    return make


@pytest.fixture
def spend():
    """Record one provider attempt through the real service, with sensible defaults."""

    def make(tenant, **kwargs):
        kwargs.setdefault("request_id", f"req-{next(_request_ids)}")
        kwargs.setdefault("attempt", 1)
        kwargs.setdefault("provider", "anthropic")
        kwargs.setdefault("model", "claude-haiku-4-5")
        kwargs.setdefault("key_source", "platform")
        kwargs.setdefault("input_tokens", 1200)
        kwargs.setdefault("output_tokens", 300)
        return usage_record(tenant=tenant, **kwargs)

    return make


def ledger_groups() -> dict[tuple, dict]:
    """The ledger summed per rollup group in Python, as the reference a rollup must equal."""
    groups: dict[tuple, dict] = {}
    for event in UsageEvent.objects.all():
        key = tuple(getattr(event, name) for name in GROUP)
        group = groups.setdefault(
            key, {"calls": 0, "conversations": set(), **dict.fromkeys(SUMMED, 0)}
        )
        group["calls"] += 1
        if event.conversation_id:
            group["conversations"].add(event.conversation_id)
        for name in SUMMED:
            group[name] += getattr(event, name)
    for group in groups.values():
        group["conversations"] = len(group["conversations"])
    return groups


def rollup_groups() -> dict[tuple, dict]:
    return {
        tuple(getattr(row, name) for name in GROUP): {
            "calls": row.calls,
            "conversations": row.conversations,
            **{name: getattr(row, name) for name in SUMMED},
        }
        for row in DailyUsage.objects.all()
    }


def column_sums(model) -> dict:
    sums = {name: Sum(name) for name in SUMMED}
    if model is UsageEvent:
        return model.objects.aggregate(calls=Count("id"), **sums)
    return model.objects.aggregate(calls=Sum("calls"), **sums)


def assert_same(expected, actual):
    """Exact on PostgreSQL; SQLite keeps decimals as floats, so there money agrees to 1e-9."""
    if connection.vendor == "postgresql":
        assert actual == expected
        return
    assert actual.keys() == expected.keys()
    for key in expected:
        want, got = expected[key], actual[key]
        if isinstance(want, dict):
            assert_same(want, got)
        elif isinstance(want, Decimal) or isinstance(got, Decimal):
            assert abs(Decimal(want) - Decimal(got)) < Decimal("1e-9"), key
        else:
            assert got == want, key


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)
