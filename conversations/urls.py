from django.urls import path

from conversations import widget_api

app_name = "widget-api"

urlpatterns = [
    path("sessions", widget_api.sessions, name="sessions"),
    path("messages", widget_api.messages, name="messages"),
    path("handoff", widget_api.handoff, name="handoff"),
    path("contact", widget_api.contact, name="contact"),
    path("live", widget_api.live, name="live"),
]
