"""Admin for consumption: the ledger and rollups read-only, prices and rates editable, a report."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone as django_timezone
from django.utils.html import format_html

from consumption import charts, selectors, tables
from consumption.forms import PeriodForm
from consumption.models import DailyUsage, FxRate, PriceOverride, UsageEvent
from consumption.pricing import catalog_prices
from consumption.services import fx_rate_delete, fx_rate_set
from tenants.models import Tenant


class ReadOnlyAdmin(admin.ModelAdmin):
    """Ledger and rollups change only through their services: never by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class PriceKnownFilter(admin.SimpleListFilter):
    title = "price"
    parameter_name = "price"

    def lookups(self, request, model_admin):
        return [("unknown", "Unknown price (recorded at zero)"), ("known", "Known price")]

    def queryset(self, request, queryset):
        if self.value() == "unknown":
            return queryset.filter(price_known=False)
        if self.value() == "known":
            return queryset.filter(price_known=True)
        return queryset


@admin.register(UsageEvent)
class UsageEventAdmin(ReadOnlyAdmin):
    list_display = [
        "occurred_at",
        "tenant",
        "provider",
        "model",
        "key_source",
        "outcome",
        "total_tokens",
        "cost_usd",
        "price_flag",
    ]
    list_filter = [PriceKnownFilter, "occurred_at", "provider", "key_source", "outcome", "tenant"]
    list_select_related = ["tenant"]
    search_fields = ["request_id", "model", "tenant__name", "tenant__slug"]
    # The ledger grows by one row per provider call: newest first by primary key (no sort of the
    # whole table), no date hierarchy (a DISTINCT over every row) and no unfiltered COUNT(*).
    ordering = ["-id"]
    show_full_result_count = False
    raw_id_fields = ["conversation"]

    @admin.display(description="Price", boolean=False)
    def price_flag(self, event: UsageEvent) -> str:
        if event.price_known:
            return event.price_source
        return format_html('<strong style="color:#b91c1c">{}</strong>', "unknown — zero cost")


@admin.register(PriceOverride)
class PriceOverrideAdmin(admin.ModelAdmin):
    list_display = [
        "provider",
        "model",
        "effective_from",
        "input_price",
        "cached_input_price",
        "cache_write_price",
        "output_price",
        "catalog_price",
        "note",
    ]
    list_filter = ["provider"]
    search_fields = ["model", "note"]
    date_hierarchy = "effective_from"

    @admin.display(description="genai-prices today (in/cached/write/out per 1M)")
    def catalog_price(self, override: PriceOverride) -> str:
        prices = catalog_prices(
            provider=override.provider, model=override.model, at=django_timezone.now()
        )
        if not prices.known:
            return "not in genai-prices"
        return f"{prices.input} / {prices.cached_input} / {prices.cache_write} / {prices.output}"


@admin.register(FxRate)
class FxRateAdmin(admin.ModelAdmin):
    list_display = ["day", "usd_to_cad", "source", "updated"]
    list_filter = ["source"]
    date_hierarchy = "day"
    fields = ["day", "usd_to_cad", "source"]

    def save_model(self, request, obj, form, change):
        if change and "day" in form.changed_data:
            # Moving a rate to another day also un-sets the old one.
            fx_rate_delete(rate=FxRate.objects.get(pk=obj.pk))
            obj.pk = None
        saved = fx_rate_set(day=obj.day, usd_to_cad=obj.usd_to_cad, source=obj.source)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        fx_rate_delete(rate=obj)

    def delete_queryset(self, request, queryset):
        for rate in queryset:
            fx_rate_delete(rate=rate)


@admin.register(DailyUsage)
class DailyUsageAdmin(ReadOnlyAdmin):
    list_display = [
        "local_day",
        "tenant",
        "provider",
        "model",
        "key_source",
        "calls",
        "conversations",
        "output_tokens",
        "cost_usd",
        "cost_cad",
        "unknown_price_calls",
    ]
    list_filter = ["provider", "key_source", "tenant"]
    list_select_related = ["tenant"]
    date_hierarchy = "local_day"
    change_list_template = "admin/consumption/dailyusage/change_list.html"

    def get_urls(self):
        report = self.admin_site.admin_view(self.report_view)
        return [
            path("report/", report, name="consumption_report"),
            *super().get_urls(),
        ]

    def report_view(self, request):
        """Consumption for every tenant, or for one (?tenant=id), over a period."""
        tenant = None
        if tenant_id := request.GET.get("tenant", "").strip():
            tenant = Tenant.objects.filter(pk=tenant_id).first() if tenant_id.isdigit() else None
        zone = tenant.timezone if tenant else settings.CHATDIRECT_DEFAULT_TIMEZONE
        today = django_timezone.now().astimezone(zoneinfo.ZoneInfo(zone)).date()
        form = PeriodForm(request.GET or None)
        period = form.period(today=today)
        report = selectors.consumption_report(tenant=tenant, start=period.start, end=period.end)
        by_tenant = []
        if tenant is None:
            by_tenant = selectors.consumption_by_tenant(start=period.start, end=period.end)
            header, lines = tables.TENANT_HEADER, [tables.tenant_row_cells(r) for r in by_tenant]
            total_line = tables.total_cells(report.totals, label_columns=1)
        else:
            header, lines = tables.HEADER, [tables.row_cells(r) for r in report.rows]
            total_line = tables.total_cells(report.totals)
        if request.GET.get("format") == "csv":
            return _csv_response(
                name=f"consumption-{tenant.slug if tenant else 'all'}-{period.start}-{period.end}",
                header=header,
                lines=[*lines, total_line],
            )
        tenant_query = f"&tenant={tenant.pk}" if tenant else ""
        return TemplateResponse(
            request,
            "admin/consumption/report.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": f"Consumption — {tenant.name if tenant else 'all tenants'}",
                "tenant": tenant,
                "tenants": Tenant.objects.order_by("name").only("id", "name"),
                "form": form,
                "period": period,
                "report": report,
                "chart": charts.daily_bar_chart(report.days),
                "header": header,
                "lines": lines,
                "total_line": total_line,
                "by_tenant": by_tenant if tenant is None else [],
                "comparison": selectors.byok_comparison(totals=report.totals),
                "extra_query": tenant_query,
                "extra_fields": [("tenant", tenant.pk)] if tenant else [],
                "csv_url": f"{reverse('admin:consumption_report')}?{period.as_query()}{tenant_query}&format=csv",
                "zone": zone,
            },
        )


def _csv_response(*, name: str, header: list[str], lines: list[list[str]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    tables.write_csv(response, header=header, lines=lines)
    return response
