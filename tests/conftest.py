import os
from pathlib import Path

import pytest
from django.db import connection

from tenants.models import Membership, Plan, Tenant
from tenants.services import membership_set, tenant_create, user_create

_FAKES = Path(__file__).parent / "fakes" / "fixtures.py"
pytest_plugins = ["tests.fakes.fixtures"] if _FAKES.exists() else []

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


HAS_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
HAS_REDIS = bool(os.environ.get("REDIS_URL"))


def pytest_collection_modifyitems(config, items):
    # Concurrency guarantees are only meaningful on PostgreSQL, and the real worker and channel
    # layer need Redis. Locally without them those tests skip; in CI a skip would hide a missing
    # service, so there they must run.
    for marker, available, variable in (
        ("postgres", HAS_POSTGRES, "DATABASE_URL=postgres://…"),
        ("redis", HAS_REDIS, "REDIS_URL=redis://…"),
    ):
        if available:
            continue
        needing = [item for item in items if marker in item.keywords]
        if needing and IN_CI:
            raise pytest.UsageError(f"CI must run the {marker} tests: set {variable}")
        for item in needing:
            item.add_marker(pytest.mark.skip(reason=f"needs {marker}: set {variable}"))


@pytest.fixture(autouse=True)
def celery_eager(request):
    """Tasks run in-process unless a test is about the real worker (marked redis)."""
    from chatdirect.celery import app

    if "redis" in request.keywords:
        yield
        return
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture(autouse=True)
def cache_cleared():
    """Rate-limit windows and cached values must not leak from one test into the next.

    The process-local copies of the model catalog and price overrides too: a test's rollback
    removes rows without the signals that clear them.
    """
    from django.core.cache import cache

    from chatdirect.ratelimit import rate_limits_reset
    from consumption.pricing import override_cache_clear
    from conversations.selectors import catalog_cache_clear

    cache.clear()
    rate_limits_reset()
    catalog_cache_clear()
    override_cache_clear()
    yield


@pytest.fixture(scope="session", autouse=True)
def db_threads_closed_at_end(django_db_setup, django_db_blocker):
    """The chat path's database threads keep connections; close them before the test database
    is dropped (PostgreSQL refuses to drop a database that has sessions)."""
    yield
    import asyncio

    from asgiref.sync import sync_to_async
    from django.db import connections

    from chatdirect.asyncdb import db_threads_close

    with django_db_blocker.unblock():
        db_threads_close()
        # Async tests' ORM calls (acount, aget, …) run on asgiref's shared sync thread.
        asyncio.run(sync_to_async(connections.close_all)())


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def plan_pro(db) -> Plan:
    return Plan.objects.get(name="Pro")


@pytest.fixture
def plan_starter(db) -> Plan:
    return Plan.objects.get(name="Starter")


@pytest.fixture
def tenant_factory(db, plan_pro):
    counter = {"n": 0}

    def make(**kwargs) -> Tenant:
        counter["n"] += 1
        kwargs.setdefault("name", f"Tenant {counter['n']}")
        kwargs.setdefault("plan", plan_pro)
        kwargs.setdefault("allowed_origins", ["https://shop.example.com"])
        return tenant_create(**kwargs)

    return make


@pytest.fixture
def tenant(tenant_factory) -> Tenant:
    return tenant_factory(name="Acme")


@pytest.fixture
def owner(db, tenant):
    user = user_create(username="owner", email="owner@example.com", password="pw-owner-123!")
    membership_set(tenant=tenant, user=user, role=Membership.Role.OWNER)
    return user


@pytest.fixture
def agent(db, tenant):
    user = user_create(username="agent", email="agent@example.com", password="pw-agent-123!")
    membership_set(tenant=tenant, user=user, role=Membership.Role.AGENT)
    return user


@pytest.fixture
def superuser(db):
    return user_create(
        username="root", email="root@example.com", password="pw-root-123!", is_superuser=True
    )
