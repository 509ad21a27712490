"""Login lock-outs and TOTP devices."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class LoginLock(models.Model):
    """Failed logins of one username or one client address, and the lock they led to."""

    class Kind(models.TextChoices):
        USER = "user", "Username"
        ADDRESS = "address", "Client address"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The username as typed (also for names no account has, so a lock says nothing about who exists).
    key = models.CharField(max_length=150)
    failures = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField(default=timezone.now)
    locked_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True, help_text="empty while locked: until unlocked")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="login_lock_unique_key")]
        ordering = ["-locked_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"

    def is_active(self, now=None) -> bool:
        now = now or timezone.now()
        return self.locked_at is not None and (self.locked_until is None or self.locked_until > now)


class TotpDevice(models.Model):
    """A user's authenticator app: the shared secret, confirmed once the user typed a first code."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device")
    secret = models.CharField(max_length=64, help_text="base32")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last accepted 30-second step: a code is accepted once, never replayed.
    last_step = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"TOTP of {self.user}"

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None
