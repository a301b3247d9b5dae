from django.urls import path

from conversations import agent_views

app_name = "inbox"

urlpatterns = [
    path("", agent_views.inbox, name="inbox"),
    path(
        "<uuid:conversation_id>/messages",
        agent_views.conversation_messages,
        name="messages",
    ),
    path("<uuid:conversation_id>/take-over", agent_views.take_over, name="take-over"),
    path("<uuid:conversation_id>/reply", agent_views.reply, name="reply"),
    path("<uuid:conversation_id>/hand-back", agent_views.hand_back, name="hand-back"),
    path("<uuid:conversation_id>/resolve", agent_views.resolve, name="resolve"),
]
