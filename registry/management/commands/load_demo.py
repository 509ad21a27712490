from django.core.management.base import BaseCommand, CommandError

from registry.services.demo import DemoRefused, load_demo_users_and_sites


class Command(BaseCommand):
    help = "Load the demo: the SoJIA project, demo sites and demo users (refused in production)."

    def add_arguments(self, parser):
        parser.add_argument("--quiet-logins", action="store_true", help="Do not print the demo logins.")

    def handle(self, *args, **options):
        try:
            logins = load_demo_users_and_sites()
        except DemoRefused as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS("Demo loaded."))
        if not options["quiet_logins"]:
            self.stdout.write("Demo logins (username / password / role):")
            for username, password, role in logins:
                self.stdout.write(f"  {username:<14} {password:<22} {role}")
