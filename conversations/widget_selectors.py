"""Reads behind the widget API: the tenant by widget id, the visitor by token, new messages."""

from __future__ import annotations

import functools
import uuid

from django.db import connection

from conversations.models import BotIdentity, Message, Visitor
from tenants.models import Plan, Tenant

MESSAGES_PER_POLL = 200


def tenant_for_widget(*, widget_id: str) -> Tenant | None:
    return Tenant.objects.select_related("plan").filter(widget_id=widget_id, is_active=True).first()


def visitor_for_token(*, tenant_id: int, visitor_public_id: str) -> Visitor | None:
    """The token's visitor, only within the token's tenant (a token never crosses tenants), with
    its tenant, plan and bot identity loaded.

    The same as `Visitor.objects.select_related("tenant__plan", "tenant__bot_identity")
    .filter(tenant_id=, public_id=, tenant__is_active=True).first()`, with the SQL written out
    once: every widget request runs it, and building that queryset cost twice executing it.
    """
    try:
        public_id = uuid.UUID(str(visitor_public_id))
    except ValueError:  # a malformed UUID inside a validly signed token: unknown
        return None
    public_id_field = Visitor._meta.get_field("public_id")
    with connection.cursor() as cursor:
        cursor.execute(
            _visitor_sql(connection.vendor),
            [
                public_id_field.get_db_prep_value(public_id, connection),
                tenant_id,
                Tenant._meta.get_field("is_active").get_db_prep_value(True, connection),
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    visitor, tenant, plan, identity = _instances(row)
    tenant.plan = plan
    if identity is None:
        Tenant.bot_identity.related.set_cached_value(tenant, None)  # known: none saved
    else:
        identity.tenant = tenant  # also caches tenant.bot_identity
    visitor.tenant = tenant
    return visitor


_JOINED = (Visitor, Tenant, Plan, BotIdentity)


@functools.cache
def _visitor_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    tables = {model: quote(model._meta.db_table) for model in _JOINED}
    columns = ", ".join(
        f"{tables[model]}.{quote(field.column)}"
        for model in _JOINED
        for field in model._meta.concrete_fields
    )
    v, t, p, b = (tables[model] for model in _JOINED)
    return (
        # Only quoted table and column names are interpolated; values are parameters.
        f"SELECT {columns} FROM {v} "  # noqa: S608
        f"INNER JOIN {t} ON {t}.{quote('id')} = {v}.{quote('tenant_id')} "
        f"INNER JOIN {p} ON {p}.{quote('id')} = {t}.{quote('plan_id')} "
        f"LEFT OUTER JOIN {b} ON {b}.{quote('tenant_id')} = {t}.{quote('id')} "
        f"WHERE {v}.{quote('public_id')} = %s AND {v}.{quote('tenant_id')} = %s "
        f"AND {t}.{quote('is_active')} = %s"
    )


def _instances(row: tuple) -> list:
    """The row's model instances, its values converted as Django's compiler does (so a JSON, UUID
    or, on SQLite, a date column reads the same as through the ORM); None for an absent LEFT JOIN."""
    instances, start = [], 0
    for model in _JOINED:
        fields = model._meta.concrete_fields
        values = list(row[start : start + len(fields)])
        start += len(fields)
        if values[0] is None:  # the primary key: no such row
            instances.append(None)
            continue
        for index, field in enumerate(fields):
            column = field.get_col(model._meta.db_table)
            converters = connection.ops.get_db_converters(column) + field.get_db_converters(
                connection
            )
            for converter in converters:
                values[index] = converter(values[index], column, connection)
        instances.append(model.from_db(connection.alias, [f.attname for f in fields], values))
    return instances


def visitor_messages_after(*, visitor: Visitor, after_id: int) -> list[Message]:
    return list(
        Message.objects.filter(
            tenant_id=visitor.tenant_id, conversation__visitor=visitor, id__gt=after_id
        ).order_by("id")[:MESSAGES_PER_POLL]
    )
