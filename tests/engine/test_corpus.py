"""The 15 real dictionaries of the shared corpus import with their counts and round-trip byte for byte."""

from __future__ import annotations

import pytest

from forms.dictionary.diff import has_changes
from forms.dictionary.services import export_dictionary, import_dictionary
from forms.models import Field, Project

from .conftest import CORPUS, CORPUS_INDEX


@pytest.mark.django_db
@pytest.mark.parametrize("entry", CORPUS_INDEX, ids=[e["file"][:40] for e in CORPUS_INDEX])
def test_corpus_dictionary_imports_with_index_counts_and_round_trips(entry):
    result = import_dictionary(project_code="corpus", source=CORPUS / entry["file"])
    assert result.ok, "\n".join(str(e) for e in result.errors)
    project = Project.objects.get(code="corpus")
    version = project.current_version
    fields = Field.objects.filter(version=version)
    print(
        f"{entry['file']}: {fields.count()} fields, {version.instruments.count()} forms "
        f"(index: {entry['fields']}, {entry['forms']}); {len(result.warnings)} warnings"
    )
    assert (fields.count(), version.instruments.count()) == (entry["fields"], entry["forms"])
    assert (result.field_count, result.form_count) == (entry["fields"], entry["forms"])
    types = {}
    for field_type in fields.values_list("field_type", flat=True):
        types[field_type] = types.get(field_type, 0) + 1
    assert types == entry["types"]

    for fmt in ("csv", "json"):
        first = export_dictionary(project, format=fmt)
        again = import_dictionary(project_code="corpus", source=first.encode())
        assert again.ok, "\n".join(str(e) for e in again.errors)
        # Our own export of the same design changes nothing.
        assert not has_changes(again.diff), again.diff
        second = export_dictionary(Project.objects.get(code="corpus"), format=fmt)
        assert second == first
