"""Admin for provider keys: hints and statuses only, never the sealed value or a plaintext key."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from byok.forms import TenantAdminKeyForm
from byok.models import KeyAuditEvent, KeySource, ProviderCredential
from byok.services import (
    credential_remove,
    credential_set,
    credential_set_model,
    credential_verify,
)
from chatdirect.errors import ChatDirectError

_KEY_FIELDS = ["admin_key_provider", "admin_key_model", "admin_key", "admin_key_remove"]
_REFUSED_FLAG = "_byok_admin_key_refused"


def _credential_summary(credential: ProviderCredential | None) -> str:
    if credential is None:
        return "—"
    verified = (
        f", checked {credential.last_verified_at:%Y-%m-%d %H:%M} UTC"
        if credential.last_verified_at
        else ""
    )
    return format_html(
        "{} · {} · <code>{}</code> · {}{}",
        credential.get_provider_display(),
        credential.model,
        credential.hint,
        credential.get_status_display(),
        verified,
    )


class AdminKeyTenantMixin:
    """Adds the admin-managed key to the Tenant admin page, saved through ``credential_set``.

    Mixed into TenantAdmin so the key lives on the tenant's own page. The key field is write-only,
    the POST parameter is masked in error reports, and a key the provider refuses is reported as a
    message while the rest of the tenant's changes are kept.
    """

    form = TenantAdminKeyForm

    @method_decorator(sensitive_post_parameters("admin_key"))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        fieldsets.append(
            (
                "Admin-managed API key",
                {
                    "fields": ["admin_key_current", "client_key_current", *_KEY_FIELDS],
                    "description": (
                        "Used when api_key_mode is <b>Admin</b>. Only the hint is ever shown, and "
                        "only here; the client's portal just says the administrator manages the AI "
                        "provider."
                    ),
                },
            )
        )
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return [
            *super().get_readonly_fields(request, obj),
            "admin_key_current",
            "client_key_current",
        ]

    @admin.display(description="Current admin-managed key")
    def admin_key_current(self, tenant) -> str:
        if tenant is None or tenant.pk is None:
            return "—"
        return _credential_summary(
            ProviderCredential.objects.filter(tenant_id=tenant.pk, source=KeySource.ADMIN).first()
        )

    @admin.display(description="Client's own key (BYOK)")
    def client_key_current(self, tenant) -> str:
        if tenant is None or tenant.pk is None:
            return "—"
        return _credential_summary(
            ProviderCredential.objects.filter(tenant_id=tenant.pk, source=KeySource.CLIENT).first()
        )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        self._save_admin_key(request, form)

    @sensitive_variables()
    def _save_admin_key(self, request, form: TenantAdminKeyForm) -> None:
        change = form.admin_key_change()
        tenant = form.instance
        data = form.cleaned_data
        if change == "remove":
            credential_remove(tenant=tenant, source=KeySource.ADMIN, actor=request.user)
            self.message_user(request, "The admin-managed key was removed.")
        elif change == "model":
            credential_set_model(
                credential=form.admin_credential, model=data["admin_key_model"], actor=request.user
            )
        elif change == "set":
            try:
                credential = credential_set(
                    tenant=tenant,
                    source=KeySource.ADMIN,
                    provider=data["admin_key_provider"],
                    model=data["admin_key_model"],
                    api_key=data["admin_key"],
                    actor=request.user,
                )
            except ChatDirectError as exc:
                setattr(request, _REFUSED_FLAG, True)
                self.message_user(
                    request,
                    f"The admin-managed key was not saved: {exc.message}",
                    level=messages.ERROR,
                )
                return
            self.message_user(request, f"Admin-managed key saved ({credential.hint}).")
            if tenant.api_key_mode != "admin":
                self.message_user(
                    request,
                    "The key is stored but unused until api_key_mode is set to Admin.",
                    level=messages.WARNING,
                )

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(request, _REFUSED_FLAG, False):
            return self._back_to_change_form(obj)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if getattr(request, _REFUSED_FLAG, False):
            return self._back_to_change_form(obj)
        return super().response_change(request, obj)

    def _back_to_change_form(self, obj):
        opts = obj._meta
        return HttpResponseRedirect(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        )


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(admin.ModelAdmin):
    list_display = [
        "tenant",
        "source",
        "provider",
        "model",
        "hint",
        "status",
        "last_verified_at",
        "updated",
    ]
    list_filter = ["source", "provider", "status"]
    search_fields = ["tenant__name", "tenant__slug", "hint"]
    list_select_related = ["tenant"]
    # sealed_key is never listed, shown or editable: the record is useless to a reader and the
    # only path to plaintext is services.credential_reveal_for_call.
    fields = [
        "tenant",
        "source",
        "provider",
        "model",
        "hint",
        "status",
        "status_detail",
        "last_verified_at",
        "created_by",
        "created",
        "updated_by",
        "updated",
    ]
    readonly_fields = fields
    actions = ["recheck_with_provider"]

    def has_add_permission(self, request) -> bool:
        # Keys are set on the tenant's page (admin-managed) or in the portal (client).
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def delete_model(self, request, obj):
        credential_remove(tenant=obj.tenant, source=obj.source, actor=request.user)

    def delete_queryset(self, request, queryset):
        for credential in queryset.select_related("tenant"):
            credential_remove(
                tenant=credential.tenant, source=credential.source, actor=request.user
            )

    @admin.action(description="Re-check the selected keys with their provider")
    def recheck_with_provider(self, request, queryset):
        for credential in queryset:
            status = credential_verify(credential=credential, actor=request.user)
            self.message_user(request, f"{credential.tenant} {credential.hint}: {status}")


@admin.register(KeyAuditEvent)
class KeyAuditEventAdmin(admin.ModelAdmin):
    list_display = ["created", "tenant", "source", "provider", "action", "hint", "actor", "detail"]
    list_filter = ["action", "source", "provider"]
    search_fields = ["tenant__name", "hint", "actor__username"]
    list_select_related = ["tenant", "actor"]
    date_hierarchy = "created"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
