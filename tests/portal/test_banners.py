"""The banner on every portal page: 80% and 100% of the cap, and a failing client key."""

from html import unescape

import pytest

from byok.models import KeySource, ProviderCredential
from byok.services import credential_mark_status, credential_set
from tenants.models import Plan, Tenant
from tenants.services import conversation_reserve

pytestmark = pytest.mark.django_db

PAGES = [
    "/portal/",
    "/portal/conversations/",
    "/portal/identity/",
    "/portal/widget/",
    "/portal/plan/",
]


@pytest.fixture
def small_plan(db):
    return Plan.objects.create(
        name="Tiny", monthly_price=1, monthly_conversation_cap=10, premium_models=True
    )


@pytest.fixture
def capped_tenant(tenant, small_plan, owner):
    Tenant.objects.filter(pk=tenant.pk).update(plan=small_plan)
    tenant.refresh_from_db()
    return tenant


def _use(tenant, conversations: int) -> None:
    for _ in range(conversations):
        conversation_reserve(tenant=tenant, key_source="platform")


def _pages(client):
    return {url: unescape(client.get(url).content.decode()) for url in PAGES}


def test_no_banner_below_80_percent(client, capped_tenant, owner):
    _use(capped_tenant, 7)
    client.force_login(owner)
    assert 'class="banner' not in client.get("/portal/").content.decode()


def test_a_warning_from_80_percent_on_every_page(client, capped_tenant, owner):
    _use(capped_tenant, 8)
    client.force_login(owner)
    for url, html in _pages(client).items():
        assert "8 of this month's 10 conversations are used (80%)" in html, url
        assert "banner-warn" in html


def test_an_alarm_at_the_cap_on_every_page_also_for_agents(client, capped_tenant, agent):
    _use(capped_tenant, 10)
    client.force_login(agent)
    for url in ["/portal/", "/portal/conversations/"]:
        html = unescape(client.get(url).content.decode())
        assert "This month's 10 conversations are used up" in html and "banner-bad" in html
        assert "/portal/plan/" not in html  # agents get the news, not an owner-only link


def test_a_working_own_key_lifts_the_cap_banner(client, capped_tenant, owner, provider_urls):
    _use(capped_tenant, 10)
    Tenant.objects.filter(pk=capped_tenant.pk).update(api_key_mode=Tenant.ApiKeyMode.CLIENT)
    credential_set(
        tenant=capped_tenant,
        source=KeySource.CLIENT,
        provider="anthropic",
        model="claude-haiku-4-5",
        api_key=provider_urls.default_key("anthropic"),
        actor=owner,
    )
    client.force_login(owner)
    assert 'class="banner' not in client.get("/portal/").content.decode()


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("invalid", "rejected by the provider"),
        ("quota_exhausted", "no quota or credit left"),
        ("unreachable", "provider unreachable at last check"),
    ],
)
def test_a_failing_client_key_shows_on_every_page(
    client, tenant, owner, provider_urls, status, words
):
    Tenant.objects.filter(pk=tenant.pk).update(api_key_mode=Tenant.ApiKeyMode.CLIENT)
    credential = credential_set(
        tenant=tenant,
        source=KeySource.CLIENT,
        provider="anthropic",
        model="claude-haiku-4-5",
        api_key=provider_urls.default_key("anthropic"),
        actor=owner,
    )
    credential_mark_status(credential=credential, status=status, detail="")
    client.force_login(owner)
    for url, html in _pages(client).items():
        assert f"Your Anthropic API key is failing: {words}." in html, url
        assert 'href="/portal/identity/">Check the key' in html


def test_an_unverified_key_is_not_called_failing(client, tenant, owner, provider_urls):
    Tenant.objects.filter(pk=tenant.pk).update(api_key_mode=Tenant.ApiKeyMode.CLIENT)
    credential = credential_set(
        tenant=tenant,
        source=KeySource.CLIENT,
        provider="anthropic",
        model="claude-haiku-4-5",
        api_key=provider_urls.default_key("anthropic"),
        actor=owner,
    )
    ProviderCredential.objects.filter(pk=credential.pk).update(status="unverified")
    client.force_login(owner)
    assert "is failing" not in client.get("/portal/").content.decode()


def test_the_banners_cost_few_queries(
    client, tenant, owner, provider_urls, django_assert_max_num_queries
):
    Tenant.objects.filter(pk=tenant.pk).update(api_key_mode=Tenant.ApiKeyMode.CLIENT)
    client.force_login(owner)
    client.get("/portal/plan/")  # warm the session
    # session, user, membership, plan page's own usage and plan list, then the context processor:
    # workspaces, credential (twice when it is missing), counter.
    with django_assert_max_num_queries(10):
        client.get("/portal/plan/")
