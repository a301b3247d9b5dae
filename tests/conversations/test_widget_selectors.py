"""visitor_for_token writes its SQL out; it must read exactly what the ORM reads."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations.models import BotIdentity, Visitor
from conversations.services.identity import bot_identity_update
from conversations.widget_selectors import visitor_for_token

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def _through_the_orm(visitor: Visitor) -> Visitor:
    return Visitor.objects.select_related("tenant__plan", "tenant__bot_identity").get(pk=visitor.pk)


@pytest.mark.parametrize("with_identity", [True, False])
def test_it_reads_the_visitor_tenant_plan_and_identity_as_the_orm_does(tenant, with_identity):
    tenant.allowed_origins = ["https://shop.example.com", "https://www.shop.example.com"]
    tenant.save()
    if with_identity:
        bot_identity_update(tenant=tenant, name="Bean", instructions="Be brief.")
    visitor = Visitor.objects.create(tenant=tenant, name="Ada", email="ada@example.com")
    expected = _through_the_orm(visitor)

    with CaptureQueriesContext(connection) as queries:
        found = visitor_for_token(tenant_id=tenant.pk, visitor_public_id=str(visitor.public_id))
        identity_seen = (
            found.tenant.bot_identity.name
            if with_identity
            else pytest.raises(BotIdentity.DoesNotExist, lambda: found.tenant.bot_identity)
        )

    assert len(queries) == 1, "tenant, plan and identity come with the visitor"
    assert _fields(found) == _fields(expected)
    assert _fields(found.tenant) == _fields(expected.tenant)
    assert found.tenant.allowed_origins == [
        "https://shop.example.com",
        "https://www.shop.example.com",
    ]
    assert _fields(found.tenant.plan) == _fields(expected.tenant.plan)
    if with_identity:
        assert identity_seen == "Bean"
        assert _fields(found.tenant.bot_identity) == _fields(expected.tenant.bot_identity)


def test_a_token_never_crosses_tenants_or_reaches_an_inactive_one(tenant_factory):
    tenant_a, tenant_b = tenant_factory(name="A"), tenant_factory(name="B")
    visitor = Visitor.objects.create(tenant=tenant_a)

    assert (
        visitor_for_token(tenant_id=tenant_b.pk, visitor_public_id=str(visitor.public_id)) is None
    )
    assert visitor_for_token(tenant_id=tenant_a.pk, visitor_public_id=str(uuid.uuid4())) is None
    assert visitor_for_token(tenant_id=tenant_a.pk, visitor_public_id="not-a-uuid") is None
    tenant_a.is_active = False
    tenant_a.save()
    assert (
        visitor_for_token(tenant_id=tenant_a.pk, visitor_public_id=str(visitor.public_id)) is None
    )
