from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from portal.views import conversations, identity, overview, workspace

app_name = "portal"

# Django's auth views default to un-namespaced URL names; these point them at the portal's.
_password_reset = auth_views.PasswordResetView.as_view(
    template_name="registration/password_reset_form.html",
    email_template_name="registration/password_reset_email.txt",
    subject_template_name="registration/password_reset_subject.txt",
    success_url=reverse_lazy("portal:password_reset_done"),
)
_password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="registration/password_reset_confirm.html",
    success_url=reverse_lazy("portal:password_reset_complete"),
)

urlpatterns = [
    path("", overview.overview, name="overview"),
    path("login/", auth_views.LoginView.as_view(template_name="portal/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", _password_reset, name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="registration/password_reset_done.html"
        ),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        _password_reset_confirm,
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="registration/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path("switch/", overview.tenant_switch, name="tenant-switch"),
    path("conversations/", conversations.conversation_list, name="conversations"),
    path(
        "conversations/<uuid:conversation_id>/",
        conversations.conversation_detail,
        name="conversation",
    ),
    path("identity/", identity.identity, name="identity"),
    path("identity/provider/", identity.provider_save, name="provider-save"),
    path("identity/provider/models/", identity.provider_models, name="provider-models"),
    path("identity/provider/test/", identity.provider_test, name="provider-test"),
    path("identity/provider/remove/", identity.provider_remove, name="provider-remove"),
    path("widget/", workspace.widget, name="widget"),
    path("plan/", workspace.plan, name="plan"),
]
