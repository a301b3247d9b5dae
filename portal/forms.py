"""Portal forms. They validate and clean; saving goes through the apps' services."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.urls import reverse

from byok.forms import api_key_field
from byok.models import Provider
from conversations.models import AIModel, BotIdentity, Conversation
from conversations.selectors import model_default
from conversations.services.identity import BOT_IDENTITY_FIELDS


class BotIdentityForm(forms.ModelForm):
    avatar_url = forms.URLField(
        label="Avatar image URL",
        required=False,
        assume_scheme="https",
        help_text="A square image on https, at least 64×64 pixels. Leave empty for initials.",
    )
    accent_color = forms.CharField(
        label="Accent colour",
        max_length=7,
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour such as #2563eb.")],
        widget=forms.TextInput(attrs={"type": "color"}),
    )

    class Meta:
        model = BotIdentity
        fields = list(BOT_IDENTITY_FIELDS)
        labels = {"name": "Bot name"}
        help_texts = {
            "greeting": "The first thing visitors see when they open the chat.",
            "instructions": (
                "Tone, what the bot should and must not do, and facts about your business "
                "(opening hours, returns policy…)."
            ),
            "language": "The bot answers in this language unless the visitor writes in another.",
        }
        widgets = {
            "greeting": forms.Textarea(attrs={"rows": 2}),
            "instructions": forms.Textarea(attrs={"rows": 8}),
        }


class ProviderKeyForm(forms.Form):
    """Provider, model and key for the tenant's own AI provider account (BYOK).

    The model choices depend on the provider and on the plan, so the form is built from the plan's
    catalog; the key field is write-only (never rendered back, not even after an error).
    """

    provider = forms.ChoiceField(label="Provider")
    model = forms.ChoiceField(label="Model")
    api_key = api_key_field(
        help_text="Pasted once, checked with the provider, then stored encrypted. "
        "It is never shown again; only its last four characters are."
    )

    def __init__(self, *args, catalog: list[AIModel], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Providers in the order the select shows them, so the fallback default is the first one.
        order = list(Provider.values)
        catalog = sorted(catalog, key=lambda m: order.index(m.provider))
        offered = {m.provider for m in catalog}
        self.fields["provider"].choices = [
            (v, label) for v, label in Provider.choices if v in offered
        ]
        self.fields["provider"].widget.attrs.update(
            {
                # htmx swaps in the chosen provider's models; only the provider is sent, so the
                # key typed in the same form can never end up in a URL.
                "hx-get": reverse("portal:provider-models"),
                "hx-target": "#id_model",
                "hx-swap": "outerHTML",
                "hx-params": "provider",
            }
        )
        self.fields["api_key"].required = True
        self.fields["api_key"].widget.attrs.update(
            {"placeholder": "Paste your API key", "autocomplete": "off"}
        )
        default = model_default(catalog=catalog)
        provider = self.data.get("provider") if self.is_bound else None
        if provider not in offered:
            provider = self.initial.get("provider") or (default.provider if default else "")
        self.fields["provider"].initial = provider
        # The choices are this provider's models on this plan, so a model of another provider or
        # a premium model on a standard plan fails validation like any unknown value.
        self.fields["model"].choices = model_choices(catalog=catalog, provider=provider)
        if self.initial.get("model"):
            self.fields["model"].initial = self.initial["model"]
        elif default is not None and default.provider == provider:
            self.fields["model"].initial = default.model_id


def model_choices(*, catalog: list[AIModel], provider: str) -> list[tuple[str, str]]:
    return [
        (
            m.model_id,
            f"{m.display_name} · premium" if m.tier == AIModel.Tier.PREMIUM else m.display_name,
        )
        for m in catalog
        if m.provider == provider
    ]


class AllowedOriginsForm(forms.Form):
    allowed_origins = forms.CharField(
        label="Websites allowed to show the widget",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text="One origin per line: scheme and host only, such as https://shop.example.com.",
    )

    def clean_allowed_origins(self) -> list[str]:
        return [
            line.strip()
            for line in self.cleaned_data["allowed_origins"].splitlines()
            if line.strip()
        ]


class ConversationFilterForm(forms.Form):
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "All"), *Conversation.Status.choices]
    )
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Visitor, e-mail or message"}
        ),
    )
