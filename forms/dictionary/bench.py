"""Timing of the largest corpus import (docs/metadata.md): `python -c "...bench_largest_import()"`."""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.conf import settings
from django.db import transaction

from forms.dictionary.services import import_dictionary

CORPUS = Path(settings.BASE_DIR).parent / "shared" / "corpus" / "data-dictionaries"


class _Rollback(Exception):
    pass


def bench_largest_import(corpus: Path = CORPUS) -> dict:
    """Import the largest corpus dictionary into a scratch project, time it, and roll everything back."""
    index = json.loads((corpus / "index.json").read_text())
    largest = max(index, key=lambda e: e["fields"])
    outcome: dict = {"file": largest["file"]}
    try:
        with transaction.atomic():
            started = time.perf_counter()
            result = import_dictionary(project_code="bench-largest", source=corpus / largest["file"])
            outcome["seconds"] = round(time.perf_counter() - started, 3)
            outcome["fields"] = result.field_count
            outcome["forms"] = result.form_count
            outcome["errors"] = len(result.errors)
            raise _Rollback
    except _Rollback:
        pass
    return outcome
