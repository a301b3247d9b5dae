"""Celery entry points: parse, call one service. Each is idempotent and safe to run twice."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from consumption import selectors, services


@shared_task(name="consumption.rollup_usage_days")
def rollup_usage_days(*, start: str, end: str, tenant_ids: list[int] | None = None) -> int:
    return services.daily_usage_rebuild(
        start=dt.date.fromisoformat(start), end=dt.date.fromisoformat(end), tenant_ids=tenant_ids
    )


@shared_task(name="consumption.rollup_recent_usage")
def rollup_recent_usage() -> int:
    """Hourly: rebuild "yesterday and today" as each tenant's own clock reads them."""
    written = 0
    for window in selectors.recent_rollup_windows():
        written += services.daily_usage_rebuild(
            start=window.start, end=window.end, tenant_ids=window.tenant_ids
        )
    return written


@shared_task(name="consumption.fetch_usd_cad_rate")
def fetch_usd_cad_rate() -> str | None:
    """Store the Bank of Canada's latest USD→CAD rate. Network failures are left for the next run."""
    from consumption import boc

    observation = boc.latest_usd_cad()
    if observation is None:
        return None
    rate = services.fx_rate_set(
        day=observation.day, usd_to_cad=observation.usd_to_cad, source="bank-of-canada"
    )
    return f"{rate.day} {rate.usd_to_cad}"
