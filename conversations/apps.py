from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ConversationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "conversations"
    verbose_name = "Conversations"

    def ready(self) -> None:
        from conversations.models import AIModel
        from conversations.selectors import catalog_cache_clear

        post_save.connect(catalog_cache_clear, sender=AIModel, dispatch_uid="catalog_cache_save")
        post_delete.connect(catalog_cache_clear, sender=AIModel, dispatch_uid="catalog_cache_del")
