from django.contrib.auth import get_user_model
from django.core.management import call_command

from tenants.models import Membership, Tenant


def test_seed_demo_is_idempotent_and_prints_passwords(db, capsys, monkeypatch):
    monkeypatch.setenv("CHATDIRECT_DEMO_PASSWORD", "demo-pass-123")

    call_command("seed_demo")
    call_command("seed_demo")

    output = capsys.readouterr().out
    assert "demo-pass-123" in output
    assert Tenant.objects.filter(name__startswith="Demo ").count() == 4
    assert set(Tenant.objects.values_list("plan__name", flat=True)) == {
        "Starter",
        "Pro",
        "Business",
        "Enterprise",
    }
    User = get_user_model()
    assert User.objects.get(username="admin").is_superuser
    demo = User.objects.get(username="demo")
    assert demo.check_password("demo-pass-123")
    assert Membership.objects.filter(user=demo, role="owner").count() == 4


def test_seed_demo_generates_passwords_when_none_given(db, capsys, monkeypatch):
    for var in (
        "CHATDIRECT_ADMIN_PASSWORD",
        "CHATDIRECT_DEMO_PASSWORD",
        "CHATDIRECT_AGENT_PASSWORD",
    ):
        monkeypatch.delenv(var, raising=False)

    call_command("seed_demo")

    output = capsys.readouterr().out
    line = next(line for line in output.splitlines() if "user admin" in line)
    password = line.split("password:")[1].strip()
    assert get_user_model().objects.get(username="admin").check_password(password)
