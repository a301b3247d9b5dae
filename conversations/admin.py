from django.contrib import admin

from conversations.models import AIModel, BotIdentity, Conversation, Message, Visitor


@admin.register(AIModel)
class AIModelAdmin(admin.ModelAdmin):
    list_display = [
        "display_name",
        "provider",
        "model_id",
        "tier",
        "context_window",
        "max_output_tokens",
        "active",
    ]
    list_filter = ["provider", "tier", "active"]
    list_editable = ["tier", "active"]
    search_fields = ["display_name", "model_id"]


@admin.register(BotIdentity)
class BotIdentityAdmin(admin.ModelAdmin):
    list_display = ["tenant", "name", "language", "updated"]
    search_fields = ["tenant__name", "name"]
    list_select_related = ["tenant"]


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    can_delete = False
    fields = ["created", "author", "text", "provider", "model", "output_tokens", "error_code"]
    readonly_fields = fields
    ordering = ["id"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = [
        "public_id",
        "tenant",
        "visitor",
        "status",
        "handled_by",
        "key_source",
        "counted_toward_cap",
        "started",
        "last_activity",
    ]
    list_filter = ["status", "handled_by", "key_source", "counted_toward_cap", "mode"]
    search_fields = ["public_id", "tenant__name", "visitor__email", "visitor__name"]
    list_select_related = ["tenant", "visitor"]
    readonly_fields = [
        "tenant",
        "visitor",
        "public_id",
        "mode",
        "key_source",
        "counted_toward_cap",
        "counted_period",
        "started",
        "last_activity",
        "handoff_requested_at",
        "resolved_at",
    ]
    inlines = [MessageInline]
    date_hierarchy = "started"


@admin.register(Visitor)
class VisitorAdmin(admin.ModelAdmin):
    list_display = ["__str__", "tenant", "email", "locale", "created", "last_seen"]
    search_fields = ["name", "email", "public_id"]
    list_filter = ["locale"]
    list_select_related = ["tenant"]
    readonly_fields = ["public_id", "created", "last_seen"]
