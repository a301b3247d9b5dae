from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def money(value) -> str:
    """Cents once a figure reaches a dollar; below that, four decimals so small costs still show."""
    amount = Decimal(value or 0)
    return f"{amount:,.2f}" if abs(amount) >= 1 or amount == 0 else f"{amount:,.4f}"
