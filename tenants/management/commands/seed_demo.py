import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from tenants.models import Membership, Plan, Tenant
from tenants.services import membership_set, tenant_create, user_create

DEMO_ORIGINS = ["http://127.0.0.1:8000", "http://localhost:8000"]
# One demo tenant per plan, each showing a different way of paying for the AI and of chatting.
DEMO_TENANTS = [
    ("Starter", "Demo Starter", Tenant.ApiKeyMode.PLATFORM, Tenant.ChatMode.AI),
    ("Pro", "Demo Pro", Tenant.ApiKeyMode.CLIENT, Tenant.ChatMode.HYBRID),
    ("Business", "Demo Business", Tenant.ApiKeyMode.ADMIN, Tenant.ChatMode.AI),
    ("Enterprise", "Demo Enterprise", Tenant.ApiKeyMode.PLATFORM, Tenant.ChatMode.HUMAN),
]
USERS = [
    # username, env var holding its password, superuser
    ("admin", "CHATDIRECT_ADMIN_PASSWORD", True),
    ("demo", "CHATDIRECT_DEMO_PASSWORD", False),
    ("agent", "CHATDIRECT_AGENT_PASSWORD", False),
]


class Command(BaseCommand):
    help = "Create (or bring up to date) the demo tenants and users. Safe to run repeatedly."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        User = get_user_model()
        users = {}
        for username, password_var, is_superuser in USERS:
            password = os.environ.get(password_var, "")
            user = User.objects.filter(username=username).first()
            if user is None:
                password = password or secrets.token_urlsafe(12)
                user = user_create(
                    username=username,
                    email=f"{username}@example.com",
                    password=password,
                    is_superuser=is_superuser,
                )
                shown = password
            elif password:
                user.set_password(password)
                user.save(update_fields=["password"])
                shown = password
            else:
                shown = f"(unchanged; set {password_var} to reset it)"
            users[username] = user
            self.stdout.write(f"  user {username:<6} password: {shown}")

        for plan_name, name, api_key_mode, chat_mode in DEMO_TENANTS:
            tenant = Tenant.objects.filter(name=name).first()
            if tenant is None:
                tenant = tenant_create(
                    name=name,
                    plan=Plan.objects.get(name=plan_name),
                    api_key_mode=api_key_mode,
                    chat_mode=chat_mode,
                    allowed_origins=DEMO_ORIGINS,
                )
            membership_set(tenant=tenant, user=users["demo"], role=Membership.Role.OWNER)
            membership_set(tenant=tenant, user=users["agent"], role=Membership.Role.AGENT)
            self.stdout.write(
                f"  tenant {tenant.name:<16} plan {plan_name:<10} keys {tenant.api_key_mode:<8} "
                f"chat {tenant.chat_mode:<6} widget {tenant.widget_id}"
            )
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
