import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatdirect.settings")

app = Celery("chatdirect")
# Broker, eager mode and beat schedule come from settings (CELERY_* names) so the embedded default
# (no REDIS_URL: tasks run eagerly in-process) and production share one configuration path.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
