from django import template

from conversations.models import PROVIDER_CHOICES

register = template.Library()

_PROVIDER_LABELS = dict(PROVIDER_CHOICES)


@register.filter
def provider_label(provider: str) -> str:
    """ "openai" → "OpenAI": provider names are brands, which capfirst gets wrong."""
    return _PROVIDER_LABELS.get(provider, provider)
