from tenants.models import ConversationCounter
from tenants.selectors import billing_period


def test_tenant_changelist_shows_plan_mode_and_conversations_against_cap(
    client, superuser, tenant_factory, django_assert_max_num_queries
):
    tenants = [tenant_factory(name=f"Shop {n}") for n in range(5)]
    ConversationCounter.objects.create(
        tenant=tenants[0], period=billing_period(tenant=tenants[0]), platform_conversations=812
    )
    client.force_login(superuser)

    with django_assert_max_num_queries(12):
        response = client.get("/admin/tenants/tenant/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "812 / 1,000" in html
    assert html.count("0 / 1,000") == 4
    assert "Pro" in html


def test_tenant_changelist_query_count_does_not_grow_with_tenants(
    client, superuser, tenant_factory, django_assert_max_num_queries
):
    for n in range(30):
        tenant_factory(name=f"Shop {n}")
    client.force_login(superuser)

    with django_assert_max_num_queries(12):
        assert client.get("/admin/tenants/tenant/").status_code == 200


def test_tenant_change_page_explains_api_key_mode(client, superuser, tenant):
    client.force_login(superuser)

    html = client.get(f"/admin/tenants/tenant/{tenant.pk}/change/").content.decode()

    assert "who pays (api_key_mode)" in html
    assert "never sees it" in html


def test_plan_admin_lists_the_seeded_plans(client, superuser):
    client.force_login(superuser)

    html = client.get("/admin/tenants/plan/").content.decode()

    for name in ("Starter", "Pro", "Business", "Enterprise"):
        assert name in html
