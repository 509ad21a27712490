from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from registry.models import AuditSource
from registry.security import lockout, two_factor
from registry.security.models import LoginLock


class Command(BaseCommand):
    help = "List locked logins, lift a lock, or remove a user's lost authenticator. Every change is audited."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group()
        target.add_argument("--user", help="unlock this username")
        target.add_argument("--address", help="unlock this client address")
        parser.add_argument("--reason", default="", help="why (required to unlock; stored in the audit trail)")
        parser.add_argument("--remove-authenticator", action="store_true",
                            help="with --user: also remove the user's TOTP authenticator (a lost phone)")  # fmt: skip

    def handle(self, *args, user, address, reason, remove_authenticator, **options):
        if user is None and address is None:
            for lock in lockout.active_locks():
                until = lock.locked_until.isoformat() if lock.locked_until else "until unlocked"
                self.stdout.write(f"{lock.kind:<8} {lock.key:<40} {lock.failures:>4} failures, {until}")
            return
        if not reason.strip():
            raise CommandError("--reason is required: it goes into the audit trail")
        kind, key = (LoginLock.Kind.USER, user) if user is not None else (LoginLock.Kind.ADDRESS, address)
        if remove_authenticator:
            if kind != LoginLock.Kind.USER:
                raise CommandError("--remove-authenticator needs --user")
            account = get_user_model().objects.filter(username=key).first()
            if account is None or not two_factor.remove_device(user=account, reason=reason, source=AuditSource.SYSTEM):
                raise CommandError(f"{key!r} has no authenticator")
            self.stdout.write(f"Removed the authenticator of {key}.")
            if lockout.active_lock(key) is None:
                return
        try:
            lockout.unlock(kind=kind, key=key, reason=reason, source=AuditSource.SYSTEM)
        except lockout.UnlockError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Unlocked {kind} {key}."))
