from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ConsumptionConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "consumption"
    verbose_name = "Consumption"

    def ready(self) -> None:
        from consumption.models import PriceOverride
        from consumption.pricing import override_cache_clear

        post_save.connect(override_cache_clear, sender=PriceOverride, dispatch_uid="prices_save")
        post_delete.connect(override_cache_clear, sender=PriceOverride, dispatch_uid="prices_del")
