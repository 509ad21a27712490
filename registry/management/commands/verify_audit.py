from django.core.management.base import BaseCommand, CommandError

from registry.models import AuditChainHead
from registry.services.audit import verify_chain


class Command(BaseCommand):
    help = "Verify the hash chain of the audit trail (all chains, or one project's)."

    def add_arguments(self, parser):
        parser.add_argument("--project", help="project code (default: every chain)")

    def handle(self, *args, **options):
        chains = (
            [f"project:{options['project']}"]
            if options["project"]
            else list(AuditChainHead.objects.values_list("chain", flat=True))
        )
        failed = False
        for chain in chains:
            report = verify_chain(chain)
            if report.ok:
                self.stdout.write(f"{chain}: ok, {report.checked} rows")
            else:
                failed = True
                self.stderr.write(f"{chain}: BROKEN after {report.checked} good rows: {report.problem}")
        if failed:
            raise CommandError("the audit trail does not verify")
