import csv
import datetime as dt
import io
import zoneinfo
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from consumption.models import DailyUsage
from consumption.services import daily_usage_rebuild
from tenants.models import Membership, Tenant
from tenants.services import membership_set, user_create

OVERVIEW = reverse("consumption:overview")
CSV = reverse("consumption:csv")


class TableParser(HTMLParser):
    """The cells of #usage-table's body and footer rows, as the reader sees them."""

    def __init__(self):
        super().__init__()
        self.rows, self.header = [], []
        self._in_table = self._in_cell = False
        self._section = ""

    def handle_starttag(self, tag, attrs):
        if tag == "table" and ("id", "usage-table") in attrs:
            self._in_table = True
        elif self._in_table and tag in ("thead", "tbody", "tfoot"):
            self._section = tag
        elif self._in_table and tag == "tr":
            (self.header if self._section == "thead" else self.rows).append([])
        elif self._in_table and tag in ("td", "th"):
            self._in_cell = True
            (self.header if self._section == "thead" else self.rows)[-1].append("")

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_table = False
        elif tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            target = self.header if self._section == "thead" else self.rows
            target[-1][-1] += data.strip()


def page_table(html: str) -> tuple[list[str], list[list[str]]]:
    parser = TableParser()
    parser.feed(html)
    # The page groups digits for reading; the CSV keeps plain numbers for spreadsheets.
    rows = [[cell.replace(",", "") for cell in row] for row in parser.rows]
    return parser.header[0], rows


def csv_table(response) -> tuple[list[str], list[list[str]]]:
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    return lines[0], lines[1:]


def today_for(tenant: Tenant) -> dt.date:
    return timezone.localtime(timezone.now(), timezone=zoneinfo.ZoneInfo(tenant.timezone)).date()


@pytest.fixture
def usage(tenant, owner, spend, conversation_for):
    """A spread of calls over this month for the tenant, rolled up."""
    conversation = conversation_for(tenant)
    now = timezone.now()
    for index, (provider, model, source) in enumerate(
        [
            ("anthropic", "claude-haiku-4-5", "platform"),
            ("openai", "gpt-4o-mini", "client"),
            ("openai", "gpt-4o-mini", "client"),
            ("mistral", "mistral-small-latest", "admin"),
            ("openai", "gpt-secret", "platform"),
        ]
    ):
        spend(
            tenant,
            conversation=conversation,
            provider=provider,
            model=model,
            key_source=source,
            occurred_at=now - dt.timedelta(minutes=index),
            input_tokens=10_000 * (index + 1),
            output_tokens=1_234,
        )
    today = today_for(tenant)
    daily_usage_rebuild(start=today - dt.timedelta(days=1), end=today)
    return tenant


def test_anonymous_visitor_is_sent_to_sign_in(client, db):
    response = client.get(OVERVIEW)

    assert response.status_code == 302
    assert "login" in response["Location"]


def test_agents_do_not_see_costs(client, tenant, agent):
    client.force_login(agent)

    assert client.get(OVERVIEW).status_code == 403
    assert client.get(CSV).status_code == 403


def test_page_numbers_match_the_rollups(client, owner, usage):
    client.force_login(owner)

    response = client.get(OVERVIEW, {"range": "this_month"})

    assert response.status_code == 200
    totals = response.context["report"].totals
    today = today_for(usage)
    expected = DailyUsage.objects.filter(
        tenant=usage, local_day__range=(today.replace(day=1), today)
    ).aggregate(
        calls=Sum("calls"),
        output_tokens=Sum("output_tokens"),
        input_tokens=Sum("input_tokens"),
        cost_usd=Sum("cost_usd"),
        cost_cad=Sum("cost_cad"),
    )
    assert totals.calls == expected["calls"] == 5
    assert totals.input_tokens == expected["input_tokens"] == 150_000
    assert totals.output_tokens == expected["output_tokens"]
    assert totals.cost_usd == expected["cost_usd"]
    assert totals.cost_cad == expected["cost_cad"]
    html = response.content.decode()
    assert f"{totals.total_tokens:,}" in html
    assert "estimate" in html
    header, rows = page_table(html)
    assert rows[-1][0] == "Total"
    assert rows[-1][3] == "5"


def test_csv_equals_the_table(client, owner, usage):
    client.force_login(owner)
    query = {"range": "30d"}

    page_header, page_rows = page_table(client.get(OVERVIEW, query).content.decode())
    response = client.get(CSV, query)

    assert response["Content-Type"].startswith("text/csv")
    assert csv_table(response) == (page_header, page_rows)
    assert len(page_rows) == 5  # four model lines and the total
    assert any("(price unknown)" in row[1] for row in page_rows)


def test_custom_range_excludes_days_outside_it(client, owner, usage):
    client.force_login(owner)
    long_ago = {"range": "custom", "start": "2020-01-01", "end": "2020-01-31"}

    response = client.get(OVERVIEW, long_ago)

    assert response.context["report"].totals.calls == 0
    assert response.context["period"].start == dt.date(2020, 1, 1)
    assert "No AI usage in this period." in response.content.decode()


def test_invalid_custom_range_falls_back_to_this_month(client, owner, usage):
    client.force_login(owner)

    response = client.get(OVERVIEW, {"range": "custom", "start": "2026-05-10", "end": "2026-05-01"})

    assert response.context["period"].key == "this_month"
    assert "end date is before the start date" in response.content.decode()


def test_another_tenants_owner_sees_none_of_it(client, usage, tenant_factory):
    other = tenant_factory(name="Bravo")
    bravo_owner = user_create(username="bravo", email="b@example.com", password="pw-bravo-123!")
    membership_set(tenant=other, user=bravo_owner, role=Membership.Role.OWNER)
    client.force_login(bravo_owner)

    page = client.get(OVERVIEW, {"range": "90d"})
    export = client.get(CSV, {"range": "90d"})

    assert page.context["report"].totals.calls == 0
    html = page.content.decode()
    for model in ("claude-haiku-4-5", "gpt-4o-mini", "mistral-small-latest", "gpt-secret"):
        assert model not in html
        assert model not in export.content.decode()
    _, rows = csv_table(export)
    assert rows == [["Total", "", "", "0", "0", "0", "0", "0", "0", "0", "0.0000", "0.0000"]]


def test_platform_tenant_sees_usage_against_the_cap(client, owner, usage):
    client.force_login(owner)

    html = client.get(OVERVIEW).content.decode()

    assert "conversations on ChatDirect" in html
    assert "billed directly by your AI provider" not in html


@pytest.mark.parametrize("mode", ["client", "admin"])
def test_byok_tenant_sees_that_its_provider_bills_it(client, owner, usage, mode):
    Tenant.objects.filter(pk=usage.pk).update(api_key_mode=mode)
    client.force_login(owner)

    html = client.get(OVERVIEW).content.decode()

    assert "billed directly by your AI provider" in html
    assert "transparency" in html


def test_byok_panel_compares_with_per_resolution_pricing(client, owner, usage):
    client.force_login(owner)

    response = client.get(OVERVIEW)

    comparison = response.context["comparison"]
    assert comparison.resolutions == 4  # one conversation, on four provider/model/key lines
    assert comparison.per_resolution_low == 2
    assert comparison.per_resolution_high == 4
    assert "$0.50–$1.00" in response.content.decode()


def test_chart_has_a_bar_per_day(client, owner, usage):
    client.force_login(owner)

    response = client.get(OVERVIEW, {"range": "30d"})

    assert len(response.context["chart"].bars) == 30
    assert response.content.decode().count('<rect class="bar"') == 30


def test_page_query_count_does_not_grow_with_the_data(client, owner, tenant, spend):
    client.force_login(owner)
    today = today_for(tenant)
    spend(tenant)
    daily_usage_rebuild(start=today, end=today)
    client.get(OVERVIEW, {"range": "90d"})  # warm the session and caches
    with CaptureQueriesContext(connection) as small:
        client.get(OVERVIEW, {"range": "90d"})

    models = ["claude-haiku-4-5", "claude-sonnet-4-5", "gpt-4o", "gpt-4o-mini", "gemini-2.0-flash"]
    start = today - dt.timedelta(days=80)
    for day in range(80):
        for model in models:
            moment = timezone.now() - dt.timedelta(days=day)
            provider = {"c": "anthropic", "g": "openai"}.get(model[0], "google")
            spend(tenant, provider=provider, model=model, occurred_at=moment)
    daily_usage_rebuild(start=start, end=today)
    with CaptureQueriesContext(connection) as large:
        response = client.get(OVERVIEW, {"range": "90d"})

    assert response.context["report"].totals.calls == 401
    assert len(large) == len(small)
