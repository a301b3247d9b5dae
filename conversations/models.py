import uuid

from django.conf import settings
from django.db import models

from tenants.models import Tenant

PROVIDER_CHOICES = [
    ("anthropic", "Anthropic"),
    ("openai", "OpenAI"),
    ("google", "Google"),
    ("mistral", "Mistral"),
    ("demo", "Demo (offline)"),
]


class AIModel(models.Model):
    """The model catalog: which models can be selected, and how much context they take."""

    class Tier(models.TextChoices):
        STANDARD = "standard", "Standard"
        PREMIUM = "premium", "Premium"

    provider = models.CharField(max_length=16, choices=PROVIDER_CHOICES)
    model_id = models.CharField(max_length=100, help_text="The id the provider's API expects.")
    display_name = models.CharField(max_length=100)
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.STANDARD)
    context_window = models.PositiveIntegerField(help_text="Input tokens the model accepts.")
    max_output_tokens = models.PositiveIntegerField(default=1024)
    active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["provider", "sort_order", "display_name"]
        verbose_name = "AI model"
        constraints = [
            models.UniqueConstraint(fields=["provider", "model_id"], name="aimodel_unique_id")
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.get_provider_display()})"


class BotIdentity(models.Model):
    """How the tenant's bot presents itself and what it is told to do (the portal's Identity tab)."""

    class Language(models.TextChoices):
        EN = "en", "English"
        FR = "fr", "Français"

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="bot_identity")
    name = models.CharField(max_length=60, default="Assistant")
    avatar_url = models.URLField(blank=True)
    accent_color = models.CharField(max_length=7, default="#2563eb")
    greeting = models.CharField(max_length=300, default="Hi! How can I help you today?")
    instructions = models.TextField(
        blank=True,
        help_text="Tone, what the bot should and must not do, facts about the business.",
    )
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.EN)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "bot identities"

    def __str__(self) -> str:
        return f"{self.name} ({self.tenant})"


class Visitor(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="visitors")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    locale = models.CharField(max_length=8, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name or self.email or f"Visitor {str(self.public_id)[:8]}"


class Conversation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PENDING = "pending", "Waiting for a person"
        RESOLVED = "resolved", "Resolved"

    class Handler(models.TextChoices):
        BOT = "bot", "Bot"
        AGENT = "agent", "Agent"
        QUEUE = "queue", "Human queue"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="conversations")
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="conversations")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    mode = models.CharField(
        max_length=16, choices=Tenant.ChatMode.choices, help_text="The tenant's chat mode at start."
    )
    handled_by = models.CharField(max_length=16, choices=Handler.choices, default=Handler.BOT)
    assigned_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    key_source = models.CharField(
        max_length=16, blank=True, help_text="Who paid for the replies: platform, admin or client."
    )
    counted_toward_cap = models.BooleanField(default=False)
    counted_period = models.DateField(null=True, blank=True)
    started = models.DateTimeField(auto_now_add=True)
    last_activity = models.DateTimeField(auto_now_add=True, db_index=True)
    handoff_requested_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_activity"]
        indexes = [models.Index(fields=["tenant", "status", "-last_activity"])]

    def __str__(self) -> str:
        return f"Conversation {str(self.public_id)[:8]} ({self.tenant})"


class Message(models.Model):
    class Author(models.TextChoices):
        VISITOR = "visitor", "Visitor"
        BOT = "bot", "Bot"
        AGENT = "agent", "Agent"
        SYSTEM = "system", "System"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="messages")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    author = models.CharField(max_length=16, choices=Author.choices)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    # Lets a client resend after a network loss without creating a duplicate.
    client_message_id = models.CharField(max_length=64, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    provider = models.CharField(max_length=16, blank=True)
    model = models.CharField(max_length=100, blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    cached_input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    error_code = models.CharField(
        max_length=32, blank=True, help_text="Set on a system message when the reply failed."
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "client_message_id"],
                condition=~models.Q(client_message_id=""),
                name="message_unique_client_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.author}: {self.text[:40]}"
