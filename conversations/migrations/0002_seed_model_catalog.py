from django.db import migrations

# provider, model id, display name, tier, context window, max output tokens
CATALOG = [
    ("anthropic", "claude-haiku-4-5", "Claude Haiku 4.5", "premium", 200_000, 1024),
    ("anthropic", "claude-sonnet-4-5", "Claude Sonnet 4.5", "premium", 200_000, 1024),
    ("openai", "gpt-4o-mini", "GPT-4o mini", "standard", 128_000, 1024),
    ("openai", "gpt-4o", "GPT-4o", "premium", 128_000, 1024),
    ("google", "gemini-2.0-flash", "Gemini 2.0 Flash", "standard", 1_048_576, 1024),
    ("google", "gemini-2.5-flash", "Gemini 2.5 Flash", "standard", 1_048_576, 1024),
    ("mistral", "mistral-small-latest", "Mistral Small", "standard", 32_000, 1024),
    ("mistral", "mistral-large-latest", "Mistral Large", "premium", 128_000, 1024),
    ("demo", "demo", "Demo bot (offline)", "standard", 8_000, 512),
]


def catalog_seed(apps, schema_editor):
    AIModel = apps.get_model("conversations", "AIModel")
    for order, (provider, model_id, name, tier, context, max_output) in enumerate(CATALOG):
        AIModel.objects.update_or_create(
            provider=provider,
            model_id=model_id,
            defaults={
                "display_name": name,
                "tier": tier,
                "context_window": context,
                "max_output_tokens": max_output,
                "sort_order": order,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("conversations", "0001_initial")]

    operations = [migrations.RunPython(catalog_seed, migrations.RunPython.noop)]
