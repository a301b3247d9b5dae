from django.contrib import admin
from django.urls import include, path

from chatdirect import views

admin.site.site_header = "ChatDirect administration"
admin.site.site_title = "ChatDirect admin"
admin.site.index_title = "Platform"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("demo/", views.demo_site, name="demo-site"),
    path("admin/", admin.site.urls),
    path("api/widget/v1/", include("conversations.urls")),
    path("portal/consumption/", include("consumption.urls")),
    path("portal/inbox/", include("conversations.agent_urls")),
    path("portal/", include("portal.urls")),
]
