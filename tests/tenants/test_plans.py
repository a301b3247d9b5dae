from decimal import Decimal

from tenants.models import Plan


def test_seeded_plans_match_the_brief(db):
    plans = {
        plan.name: (
            plan.monthly_price,
            plan.monthly_conversation_cap,
            plan.premium_models,
            plan.api_access,
            plan.integrations,
        )
        for plan in Plan.objects.all()
    }

    assert plans == {
        "Starter": (Decimal("39.00"), 1_000, False, False, False),
        "Pro": (Decimal("69.00"), 1_000, True, False, False),
        "Business": (Decimal("149.00"), 2_500, True, True, True),
        "Enterprise": (Decimal("299.00"), 10_000, True, True, True),
    }
