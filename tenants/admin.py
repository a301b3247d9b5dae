import datetime as dt

from django.contrib import admin
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.html import format_html

from byok.admin import AdminKeyTenantMixin
from tenants.models import ConversationCounter, Membership, Plan, Tenant
from tenants.selectors import billing_period


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "monthly_price",
        "monthly_conversation_cap",
        "premium_models",
        "api_access",
        "integrations",
        "tenant_count",
    ]
    list_editable = ["monthly_price", "monthly_conversation_cap"]
    ordering = ["sort_order", "monthly_price"]

    @admin.display(description="Tenants")
    def tenant_count(self, plan: Plan) -> int:
        return plan.tenants.count()


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class ConversationCounterInline(admin.TabularInline):
    model = ConversationCounter
    extra = 0
    can_delete = False
    readonly_fields = ["period", "platform_conversations", "dedicated_conversations"]
    ordering = ["-period"]
    verbose_name_plural = "Conversations per billing month"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Tenant)
class TenantAdmin(AdminKeyTenantMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "plan",
        "api_key_mode",
        "chat_mode",
        "conversations_this_month",
        "timezone",
        "is_active",
        "created",
    ]
    list_filter = ["plan", "api_key_mode", "chat_mode", "is_active", "timezone"]
    search_fields = ["name", "slug", "widget_id", "memberships__user__username"]
    list_select_related = ["plan"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["widget_id", "created", "updated"]
    inlines = [MembershipInline, ConversationCounterInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "plan", "is_active"]}),
        (
            "AI provider and who pays (api_key_mode)",
            {
                "fields": ["api_key_mode"],
                "description": (
                    "<b>Platform</b>: ChatDirect's pooled keys pay and the plan's monthly "
                    "conversation cap applies. <b>Admin</b>: a dedicated key entered below by an "
                    "administrator pays; the client never sees it, not even masked, and no cap "
                    "applies. <b>Client</b>: the client enters its own key in the portal's Identity "
                    "tab; once a working key is saved the cap no longer applies (until then the "
                    "platform key and the cap do, and the portal says so)."
                ),
            },
        ),
        ("Chat", {"fields": ["chat_mode", "timezone"]}),
        ("Widget", {"fields": ["widget_id", "allowed_origins"]}),
        ("History", {"fields": ["created", "updated"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request):
        # One query for every listed tenant's recent counters; the billing month is picked per
        # tenant time zone in Python, since it differs near month boundaries.
        since = (timezone.now() - dt.timedelta(days=2)).date().replace(day=1)
        recent = ConversationCounter.objects.filter(period__gte=since - dt.timedelta(days=1))
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("conversation_counters", queryset=recent, to_attr="recent_counters")
            )
        )

    @admin.display(description="Conversations this month")
    def conversations_this_month(self, tenant: Tenant) -> str:
        period = billing_period(tenant=tenant)
        counters = getattr(tenant, "recent_counters", None)
        if counters is None:
            counters = list(tenant.conversation_counters.filter(period=period))
        counter = next((c for c in counters if c.period == period), None)
        used = counter.platform_conversations if counter else 0
        dedicated = counter.dedicated_conversations if counter else 0
        cap = tenant.plan.monthly_conversation_cap
        colour = "#b91c1c" if used >= cap else "#b45309" if used >= 0.8 * cap else "inherit"
        extra = f" + {dedicated} on dedicated keys" if dedicated else ""
        return format_html(
            '<span style="color:{}">{} / {}</span>{}', colour, f"{used:,}", f"{cap:,}", extra
        )


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "tenant__name"]
    autocomplete_fields = ["user", "tenant"]
