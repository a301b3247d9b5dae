import os
from pathlib import Path

import pytest
from django.db import connection

from tenants.models import Membership, Plan, Tenant
from tenants.services import membership_set, tenant_create, user_create

_FAKES = Path(__file__).parent / "fakes" / "fixtures.py"
pytest_plugins = ["tests.fakes.fixtures"] if _FAKES.exists() else []

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config, items):
    # Concurrency guarantees are only meaningful on PostgreSQL. Locally on SQLite those tests skip;
    # in CI a skip would hide a missing database, so there they must run.
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return
    needs_postgres = [item for item in items if "postgres" in item.keywords]
    if needs_postgres and IN_CI:
        raise pytest.UsageError("CI must run the PostgreSQL tests: set DATABASE_URL=postgres://…")
    for item in needs_postgres:
        item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL"))


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
