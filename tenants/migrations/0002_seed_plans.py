from decimal import Decimal

from django.db import migrations

# From the product brief (DESIGN.md, "Plans"). Plans are data: editable in admin afterwards.
PLANS = [
    # name, price USD, conversations/month, premium models, API access, integrations
    ("Starter", Decimal("39.00"), 1_000, False, False, False),
    ("Pro", Decimal("69.00"), 1_000, True, False, False),
    ("Business", Decimal("149.00"), 2_500, True, True, True),
    ("Enterprise", Decimal("299.00"), 10_000, True, True, True),
]


def plans_seed(apps, schema_editor):
    Plan = apps.get_model("tenants", "Plan")
    for order, (name, price, cap, premium, api, integrations) in enumerate(PLANS):
        Plan.objects.update_or_create(
            name=name,
            defaults={
                "monthly_price": price,
                "monthly_conversation_cap": cap,
                "premium_models": premium,
                "api_access": api,
                "integrations": integrations,
                "sort_order": order,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [migrations.RunPython(plans_seed, migrations.RunPython.noop)]
