"""A real Celery worker, over Redis, runs the rollup task against the test database."""

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from consumption.models import DailyUsage, UsageEvent
from consumption.tasks import rollup_usage_days
from tests.consumption.conftest import ledger_groups, rollup_groups, utc

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    # pytest-django renamed the database to test_<name>: the worker must use that one.
    settings = connection.settings_dict
    user = settings["USER"] or "postgres"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


@pytest.fixture
def worker_queue(tmp_path):
    """A worker on a queue of its own, so parallel runs sharing the Redis never steal its tasks."""
    queue = f"consumption-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": _database_url()}
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "chatdirect",
            "worker",
            "--pool",
            "solo",
            "--queues",
            queue,
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield queue
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        # Shown by pytest only when the test fails.
        print((tmp_path / "worker.log").read_text()[-4000:])


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_real_worker_runs_the_rollup(tenant_factory, spend, worker_queue):
    toronto = tenant_factory(timezone="America/Toronto")
    tokyo = tenant_factory(timezone="Asia/Tokyo")
    for tenant in (toronto, tokyo):
        for hour in (3, 4, 5, 14, 15, 16):
            spend(tenant, occurred_at=utc(2026, 11, 30, hour, 30))
    assert UsageEvent.objects.count() == 12
    assert not DailyUsage.objects.exists()

    rollup_usage_days.apply_async(
        kwargs={"start": "2026-11-29", "end": "2026-12-01"}, queue=worker_queue
    )

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and rollup_groups() != ledger_groups():
        time.sleep(0.25)
    assert rollup_groups() == ledger_groups()
    assert {row.local_day for row in DailyUsage.objects.filter(tenant=tokyo)} == {
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 1),
    }
