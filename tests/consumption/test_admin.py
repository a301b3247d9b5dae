import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from consumption.models import UsageEvent
from consumption.services import daily_usage_rebuild

REPORT = reverse("admin:consumption_report")


@pytest.fixture
def two_tenants_spending(tenant_factory, spend):
    alpha, bravo = tenant_factory(name="Alpha"), tenant_factory(name="Bravo")
    spend(alpha, input_tokens=5000)
    spend(bravo, provider="openai", model="gpt-4o", input_tokens=7000)
    spend(bravo, provider="openai", model="gpt-nobody-knows", input_tokens=10)
    today = timezone.now().date()
    daily_usage_rebuild(start=today - dt.timedelta(days=1), end=today + dt.timedelta(days=1))
    return alpha, bravo


def test_report_for_all_tenants(client, superuser, two_tenants_spending):
    client.force_login(superuser)

    response = client.get(REPORT, {"range": "30d"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Alpha" in html and "Bravo" in html
    assert response.context["report"].totals.calls == 3
    assert "unknown price" in html
    alpha, bravo = two_tenants_spending
    assert f"tenant={alpha.pk}" in html and f"tenant={bravo.pk}" in html


def test_report_for_one_tenant_and_its_csv(client, superuser, two_tenants_spending):
    _, bravo = two_tenants_spending
    client.force_login(superuser)

    page = client.get(REPORT, {"range": "30d", "tenant": bravo.pk})
    export = client.get(REPORT, {"range": "30d", "tenant": bravo.pk, "format": "csv"})

    assert page.context["report"].totals.calls == 2
    assert "claude-haiku-4-5" not in page.content.decode()
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert [row[1] for row in rows[1:-1]] == ["gpt-4o", "gpt-nobody-knows (price unknown)"]


def test_report_needs_staff(client, owner):
    client.force_login(owner)

    assert client.get(REPORT).status_code == 302


def test_dailyusage_changelist_links_to_the_report(client, superuser, two_tenants_spending):
    client.force_login(superuser)

    response = client.get(reverse("admin:consumption_dailyusage_changelist"))

    assert response.status_code == 200
    assert REPORT in response.content.decode()


def test_ledger_is_read_only_in_admin(client, superuser, two_tenants_spending):
    client.force_login(superuser)
    event = UsageEvent.objects.first()
    change = reverse("admin:consumption_usageevent_change", args=[event.pk])

    assert client.get(reverse("admin:consumption_usageevent_changelist")).status_code == 200
    assert client.get(reverse("admin:consumption_usageevent_add")).status_code == 403
    assert client.get(change).status_code == 200
    assert client.post(change, {"model": "changed"}).status_code == 403
    assert (
        client.post(reverse("admin:consumption_usageevent_delete", args=[event.pk])).status_code
        == 403
    )
    event.refresh_from_db()
    assert event.model != "changed"


def test_unknown_prices_are_flagged_in_the_ledger_list(client, superuser, two_tenants_spending):
    client.force_login(superuser)

    response = client.get(reverse("admin:consumption_usageevent_changelist"), {"price": "unknown"})

    html = response.content.decode()
    assert "gpt-nobody-knows" in html
    assert "unknown — zero cost" in html
    assert "claude-haiku-4-5" not in html


def test_price_overrides_and_fx_rates_are_editable(client, superuser):
    client.force_login(superuser)

    assert client.get(reverse("admin:consumption_priceoverride_add")).status_code == 200
    response = client.post(
        reverse("admin:consumption_fxrate_add"),
        {"day": "2026-11-10", "usd_to_cad": "1.3975", "source": "admin"},
    )
    assert response.status_code == 302


def test_csv_cells_cannot_become_spreadsheet_formulas(client, superuser, tenant_factory, spend):
    sneaky = tenant_factory(name='=HYPERLINK("http://evil.example")')
    spend(sneaky, input_tokens=10)
    today = timezone.now().date()
    daily_usage_rebuild(start=today - dt.timedelta(days=1), end=today + dt.timedelta(days=1))
    client.force_login(superuser)

    export = client.get(REPORT, {"range": "30d", "format": "csv"})

    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[1][0].startswith("'=")
