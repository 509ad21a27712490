"""Acceptance: no identifier of any patient in any byte of any de-identified release, in every format.

Every release is built as the web page builds it (a job, a zip), unpacked, and every byte of every
file (and of the zip itself) is searched for every identifier value of every patient: first and
last names, MRNs, dates of birth, postcodes (the identifier fields of the SoJIA dictionary) and the
original record ids, each as a whole token.

Some identifier values are ordinary words or numbers of the synthetic cohort (first names such as
"Sample" or "Token" are also words of the study's labels; a postcode such as 4963 can also be a
ferritin value; a date of birth can equal another patient's shifted visit date). So the test
proves two things:
1. the distinctive values (original record ids, MRNs, last names, and dates of birth when dates
   are study days) occur nowhere at all;
2. every other identifier value occurs exactly as often as in a control release built after every
   identifier field of every patient was overwritten: the release does not depend on the
   identifiers, so its occurrences are coincidences of other data, not leaks.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from django.db import transaction

from registry.exports.models import Release
from registry.exports.services import FORMATS, ExportOptions, release_request, release_run
from registry.models import FormInstance
from registry.services.design import design_of
from registry.services.jobs import job_run
from tests.exports.helpers import identifier_values

STRICT = ("record_id", "mrn", "name_last")


def build_release_zip(scope, options: ExportOptions) -> Path:
    release = release_request(scope=scope, options=options, enqueue=False)
    job_run(release.job_id, release_run)
    release.refresh_from_db()
    assert release.status == Release.Status.READY, release.error
    from registry.exports import conf

    return conf.export_dir() / release.file_name


def release_bytes(path: Path) -> dict[str, bytes]:
    """What a reader of the zip can see: its own name, comment and member names, and every member.

    The raw zip bytes are not scanned: a deflated payload is noise that changes with every
    release's uuid and timestamp, and four digits between two non-alphanumeric bytes turn up in
    it by chance (a CI run once counted a "postcode" there). The members are scanned inflated."""
    with zipfile.ZipFile(path) as archive:
        listing = [path.name.encode(), archive.comment]
        contents = {}
        for info in archive.infolist():
            listing += [info.filename.encode(), info.comment]
            contents[info.filename] = archive.read(info)
    return {path.name: b"\n".join(listing), **contents}


# A release's own uuid (in its manifest, its ODM FileOID, its file name) is random: a group of
# four digits in it ("...-9052-...") is not a patient's postcode, and differs between the release
# and its control. Taken out before counting.
UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def token_counts(contents: dict[str, bytes], values: set[str]) -> Counter:
    if not values:
        return Counter()
    alternation = b"|".join(re.escape(v.encode()) for v in sorted(values, key=len, reverse=True))
    pattern = re.compile(rb"(?<![A-Za-z0-9])(" + alternation + rb")(?![A-Za-z0-9])")
    counts: Counter = Counter()
    for data in contents.values():
        for match in pattern.findall(UUID.sub(b"<uuid>", data)):
            counts[match.decode()] += 1
    return counts


def scan(contents: dict[str, bytes], identifiers: dict[str, set[str]]) -> dict[str, Counter]:
    return {kind: token_counts(contents, values) for kind, values in identifiers.items()}


def overwrite_identifiers(project) -> None:
    """The control: every identifier field of every patient set to a value no patient has."""
    design = design_of(project)
    fields = [f for f in design.field_map.values() if f.identifier]
    sentinel = {"date_ymd": "1901-02-03", "integer": "10"}
    with transaction.atomic():
        for form in FormInstance.objects.filter(record__project=project).select_for_update():
            changed = False
            for f in fields:
                if form.data.get(f.name):
                    form.data[f.name] = sentinel.get(f.validation, "Ctrlvalue")
                    changed = True
            if changed:
                form.save(update_fields=["data"])


@pytest.mark.parametrize("date_mode", ["shift", "study_day"])
def test_no_identifier_in_any_deidentified_release(sojia, settings, tmp_path, date_mode):
    settings.EXPORT_DIR = str(tmp_path / "exports")
    scope = sojia.scope("stat")
    identifiers = identifier_values(sojia.project)
    assert all(identifiers[k] for k in ("name_first", "name_last", "dob", "mrn", "postcode", "record_id"))
    releases = {
        fmt: release_bytes(
            build_release_zip(scope, ExportOptions(profile="deidentified", format=fmt, date_mode=date_mode))
        )
        for fmt in FORMATS
    }
    labelled = release_bytes(
        build_release_zip(
            scope, ExportOptions(profile="deidentified", format="csv", raw_or_label="label", date_mode=date_mode)
        )
    )
    found = {fmt: scan(contents, identifiers) for fmt, contents in [*releases.items(), ("csv-labels", labelled)]}

    strict = STRICT + (("dob",) if date_mode == "study_day" else ())
    for fmt, counts in found.items():
        for kind in strict:
            assert not counts[kind], f"{fmt}: {kind} values found: {dict(counts[kind])}"

    overwrite_identifiers(sojia.project)
    control = {
        fmt: scan(
            release_bytes(
                build_release_zip(scope, ExportOptions(profile="deidentified", format=fmt, date_mode=date_mode))
            ),
            identifiers,
        )
        for fmt in FORMATS
    }
    control["csv-labels"] = scan(
        release_bytes(
            build_release_zip(
                scope, ExportOptions(profile="deidentified", format="csv", raw_or_label="label", date_mode=date_mode)
            )
        ),
        identifiers,
    )
    for fmt, counts in found.items():
        for kind, counter in counts.items():
            assert counter == control[fmt][kind], f"{fmt}: {kind} occurrences depend on the identifiers"


def test_a_release_uuid_is_not_a_postcode_but_a_postcode_next_to_it_is():
    identifiers = {"postcode": {"9052"}}
    manifest = b'"release": "d9263b94-9052-4ee2-8af6-bb0783879863", "note": "9052-"'
    assert scan({"manifest.json": manifest}, identifiers)["postcode"] == Counter({"9052": 1})


def test_the_full_release_does_contain_the_identifiers(sojia, settings, tmp_path):
    """The scan is not blind: the same search finds every identifier in a full release."""
    settings.EXPORT_DIR = str(tmp_path / "exports")
    identifiers = identifier_values(sojia.project)
    contents = release_bytes(build_release_zip(sojia.scope("dm"), ExportOptions(profile="full", format="csv")))
    counts = scan(contents, identifiers)
    for kind, values in identifiers.items():
        assert set(counts[kind]) == values, kind
