"""The client portal's Consumption page and its CSV: parse the period, read, render."""

from __future__ import annotations

import zoneinfo

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone as django_timezone

from chatdirect.tenancy import tenant_view
from consumption import charts, selectors, tables
from consumption.forms import PeriodForm
from conversations.routing import route_for
from tenants.models import Tenant
from tenants.selectors import cap_usage


def _tenant_today(tenant: Tenant):
    return django_timezone.now().astimezone(zoneinfo.ZoneInfo(tenant.timezone)).date()


def _period(request):
    form = PeriodForm(request.GET or None)
    return form, form.period(today=_tenant_today(request.tenant))


@tenant_view(owner_only=True)
def overview(request):
    tenant = request.tenant
    form, period = _period(request)
    report = selectors.consumption_report(tenant=tenant, start=period.start, end=period.end)
    route = route_for(tenant=tenant)
    return render(
        request,
        "consumption/overview.html",
        {
            "form": form,
            "period": period,
            "report": report,
            "chart": charts.daily_bar_chart(report.days),
            "header": tables.HEADER,
            "lines": [tables.row_cells(row) for row in report.rows],
            "total_line": tables.total_cells(report.totals),
            "byok": tenant.api_key_mode != Tenant.ApiKeyMode.PLATFORM,
            "cap": cap_usage(tenant=tenant) if route.counts_toward_cap else None,
            "comparison": selectors.byok_comparison(totals=report.totals),
            "presets": [
                key for key, _ in PeriodForm.base_fields["range"].choices if key != "custom"
            ],
        },
    )


@tenant_view(owner_only=True)
def csv_export(request):
    tenant = request.tenant
    _, period = _period(request)
    report = selectors.consumption_report(tenant=tenant, start=period.start, end=period.end)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="consumption-{tenant.slug}-{period.start}-{period.end}.csv"'
    )
    tables.write_csv(
        response,
        header=tables.HEADER,
        lines=[*(tables.row_cells(row) for row in report.rows), tables.total_cells(report.totals)],
    )
    return response
