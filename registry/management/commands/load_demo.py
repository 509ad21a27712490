from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from registry.demo.planted_errors import planted_errors_document
from registry.services.demo import DEFAULT_RECORDS, DEFAULT_SEED, DemoRefused, DemoStudyError, load_demo


class Command(BaseCommand):
    help = (
        "Load the demo: the SoJIA study (imported like any REDCap project), demo sites and users, and a "
        "synthetic cohort. Idempotent; refused in production."
    )

    def add_arguments(self, parser):
        parser.add_argument("--records", type=int, default=DEFAULT_RECORDS, help="patients in the cohort")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="the same seed gives the same cohort")
        parser.add_argument("--quiet-logins", action="store_true", help="Do not print the demo logins.")
        parser.add_argument(
            "--planted-errors-json", type=Path, help="write the list of planted data errors of the new cohort here"
        )

    def handle(self, *args, records: int, seed: int, quiet_logins: bool, planted_errors_json: Path | None, **options):
        if records < 0:
            raise CommandError("--records must be 0 or more")
        try:
            loaded = load_demo(n_records=records, seed=seed)
        except (DemoRefused, DemoStudyError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write("Study: " + ("imported fixtures/sojia." if loaded.study_imported else "already current."))
        if loaded.cohort is not None:
            c = loaded.cohort
            self.stdout.write(
                f"Cohort: {c.records} patients ({c.suspected} suspected, {c.established} established), "
                f"{c.form_instances} forms, {len(c.planted)} planted data errors, in {c.seconds:.1f} s."
            )
            if planted_errors_json is not None:
                planted_errors_json.write_text(
                    planted_errors_document(c.planted, seed=seed, n_records=records), encoding="utf-8"
                )
        else:
            self.stdout.write(f"Cohort: already loaded ({loaded.existing_records} records); nothing changed.")
            if planted_errors_json is not None:
                raise CommandError("the cohort was loaded earlier: --planted-errors-json needs an empty project")
        self.stdout.write(self.style.SUCCESS("Demo loaded."))
        if not quiet_logins:
            self.stdout.write("Demo logins (username / password / role):")
            for username, password, role in loaded.logins:
                self.stdout.write(f"  {username:<14} {password:<22} {role}")
