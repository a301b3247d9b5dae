"""Forms that receive provider keys. The key field is write-only: it is never rendered back."""

from __future__ import annotations

from django import forms

from byok.models import KeySource, Provider, ProviderCredential
from tenants.models import Tenant


def api_key_field(*, label: str = "API key", help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=True,
        max_length=512,
        help_text=help_text,
        # render_value=False: a failed submission or a later visit never puts the key in the HTML.
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}
        ),
    )


class TenantAdminKeyForm(forms.ModelForm):
    """The Tenant admin form plus the admin-managed key fields (saved by ``AdminKeyTenantMixin``)."""

    admin_key_provider = forms.ChoiceField(
        label="Provider", required=False, choices=[("", "---------"), *Provider.choices]
    )
    admin_key_model = forms.CharField(
        label="Model",
        required=False,
        max_length=100,
        help_text="Model id, for example claude-haiku-4-5 or gpt-4.1-mini.",
    )
    admin_key = api_key_field(
        help_text=(
            "Write-only. Leave empty to keep the current key. The key is checked with the provider "
            "before it is saved; the client never sees it, not even masked."
        )
    )
    admin_key_remove = forms.BooleanField(label="Remove the admin-managed key", required=False)

    class Meta:
        model = Tenant
        fields: list[str] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.admin_credential = None
        if self.instance.pk:
            self.admin_credential = ProviderCredential.objects.filter(
                tenant_id=self.instance.pk, source=KeySource.ADMIN
            ).first()
        if self.admin_credential is not None:
            self.fields["admin_key_provider"].initial = self.admin_credential.provider
            self.fields["admin_key_model"].initial = self.admin_credential.model

    def clean(self):
        cleaned = super().clean()
        api_key = cleaned.get("admin_key")
        provider = cleaned.get("admin_key_provider")
        model = cleaned.get("admin_key_model", "").strip()
        current = self.admin_credential
        if cleaned.get("admin_key_remove"):
            if api_key:
                self.add_error("admin_key", "Either enter a new key or remove the key, not both.")
            return cleaned
        if api_key:
            if not provider:
                self.add_error("admin_key_provider", "Choose the provider this key belongs to.")
            if not model:
                self.add_error("admin_key_model", "Enter the model to use with this key.")
            return cleaned
        if current is None:
            if provider or model:
                self.add_error("admin_key", "Enter the API key to use with this provider.")
            return cleaned
        if provider != current.provider:
            self.add_error("admin_key", "A new provider needs its own API key: enter it here.")
        elif not model:
            self.add_error("admin_key_model", "Enter the model to use with this key.")
        return cleaned

    def admin_key_change(self) -> str:
        """What the admin asked for: "remove", "set", "model" or "" (nothing)."""
        data = self.cleaned_data
        if data.get("admin_key_remove"):
            return "remove" if self.admin_credential is not None else ""
        if data.get("admin_key"):
            return "set"
        current = self.admin_credential
        if current is not None and data.get("admin_key_model", "").strip() != current.model:
            return "model"
        return ""
