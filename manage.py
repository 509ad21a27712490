#!/usr/bin/env python
"""Django's command-line utility, with configuration errors shown as one clear line."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")
    from django.core.management import execute_from_command_line

    from registry.env import ConfigError, redact_url

    try:
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018 - loads settings so errors surface here
        execute_from_command_line(sys.argv)
    except ConfigError as exc:
        sys.stderr.write(f"configuration error: {exc}\n")
        sys.exit(2)
    except Exception as exc:
        from django.db import OperationalError

        if not isinstance(exc, OperationalError):
            raise
        url = redact_url(os.environ.get("DATABASE_URL", "")) or "the embedded SQLite database"
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        sys.stderr.write(f"database error: cannot use {url}: {first_line}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
