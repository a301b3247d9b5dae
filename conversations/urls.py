from django.urls import path

from conversations import widget_api

app_name = "widget-api"

urlpatterns = [
    path("sessions", widget_api.sessions, name="sessions"),
    path("messages", widget_api.messages, name="messages"),
]
