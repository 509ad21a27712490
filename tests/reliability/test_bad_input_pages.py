"""Bad input thrown by hypothesis at the web pages that take files: the import tool and the design pages.

The API's properties (`test_bad_input_properties.py`) drive the same services through `POST /api/`; these drive them
through the pages a logged-in user clicks through, with the pages' own steps and form options: the record import
tool (upload, dry-run check page, commit), the data dictionary page (upload with preview, then apply) and the
data-quality rule CSV import. Every answer must be a page that says what is wrong and where (the row and field of
an import, the row of a dictionary, the line of a rule file), never a 500, and nothing half-applied: the SHA-256 of
`tests/reliability/web.py: data_checksum` (and, for rules, the rule table) is the same before and after.

Bodies are encoded by hand (`multipart`) so that form fields and file names can carry bytes that are not UTF-8.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from html import unescape
from urllib.parse import quote_from_bytes

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import event, example, given
from hypothesis import strategies as st

from registry.imports.models import ImportRun
from registry.quality.models import Rule
from registry.services.design import design_of
from registry.services.entry import form_save
from registry.services.record_import import DATE_FORMATS
from registry.services.records import record_create
from tests.registry.designs import classic_dictionary, import_classic
from tests.registry.factories import build_world
from tests.reliability.test_bad_input_properties import (
    CODE,
    GENERIC_500,
    PROPERTY,
    broken_dictionary,
    import_with_one_bad_cell,
    junk,
)
from tests.reliability.web import data_checksum

Body = dict[str, str | bytes]


@pytest.fixture
def pages(db, settings, tmp_path, django_capture_on_commit_callbacks):
    """Logged-in clients of the data manager (design rights) and site A's coordinator, on a project with data.

    Uploaded dictionaries are kept under MEDIA_ROOT between preview and apply: a temporary folder here.
    The import tool queues its dry run and commit after the request's transaction commits; `run` executes those
    callbacks (eager Celery) as a real server would, so a request's page and its job are both exercised.
    """
    settings.MEDIA_ROOT = str(tmp_path)
    world = build_world(project=import_classic(CODE))
    for _ in range(2):  # existing data, so that a half-applied import would show as a changed form
        record = record_create(scope=world.scope("coord_a"), site=world.site_a)
        form_save(scope=world.scope("coord_a"), record=record, event="event_1_arm_1", instrument="demographics",
                  values={"age": "9", "consent": "0", "weight": "30"})  # fmt: skip
    clients = {}
    for who in ("dm", "coord_a"):
        clients[who] = Client()
        clients[who].force_login(world.users[who])

    class Pages:
        def run(self, who: str, method: str, path: str, **kwargs):
            with django_capture_on_commit_callbacks(execute=True):
                answer = getattr(clients[who], method)(path, **kwargs)
            assert answer.status_code != 500, answer.content[:500]
            return answer

    out = Pages()
    out.world = world  # type: ignore[attr-defined]
    return out


def multipart(fields: Body, files: dict[str, tuple[str, bytes]] | None = None) -> dict:
    """A multipart/form-data body whose fields and file names may be any bytes (the browser sends what it has)."""
    boundary = f"----hypothesis{uuid.uuid4().hex}".encode()
    parts = []
    for name, value in fields.items():
        raw = value if isinstance(value, bytes) else value.encode()
        parts.append(b'Content-Disposition: form-data; name="%s"\r\n\r\n%s' % (name.encode(), raw))
    for name, (file_name, data) in (files or {}).items():
        parts.append(b'Content-Disposition: form-data; name="%s"; filename="%s"\r\nContent-Type: text/csv\r\n\r\n%s'
                     % (name.encode(), file_name.encode("utf-8", "replace"), data))  # fmt: skip
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts) + b"--" + boundary + b"--\r\n"
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary.decode()}"}


def shown(page) -> str:
    """The text of a page, its markup's entities resolved (a message may quote what it refuses)."""
    return unescape(page.content.decode())


def unparsed(answer) -> bool:
    """Django's own 400 for a multipart body it cannot parse, before any view runs.

    It happens when a file part is skipped because its name is empty once Django removed unprintable characters
    (no browser sends such a name) and the part is longer than the parser's header window: the framework's clean
    refusal, not the application's, so it is accepted as long as nothing was written.
    """
    return answer.status_code == 400 and answer.context is None and b"Bad Request (400)" in answer.content


def flash(pages, who: str, answer) -> str:
    """The page a redirect leads to, where the flash message is shown."""
    assert answer.status_code == 302, (answer.status_code, answer.content[:500])
    page = pages.run(who, "get", answer["Location"])
    assert page.status_code == 200
    return shown(page)


# -- strategies ------------------------------------------------------------------------------------------------


class Huge(str):
    """A long value that hypothesis reports by its length, not its 100,000 characters."""

    def __repr__(self) -> str:
        return f"Huge(<{len(self)} characters>)"


class HugeBytes(bytes):
    """A long file, reported by its start and length."""

    def __repr__(self) -> str:
        return f"HugeBytes({bytes(self[:30])!r}... <{len(self)} bytes>)"


non_utf8 = st.binary(max_size=19).map(lambda b: b + b"\xff")  # 0xFF is never in UTF-8
field_value = junk | non_utf8 | st.just(Huge("x" * 100_000))  # unknown, non-UTF-8 and huge values
file_name = st.text(max_size=40).filter(lambda s: not set(s) & set('"\r\n\\')) | st.sampled_from(["data.csv", ""])
# A name Django keeps (it drops a file whose name is empty once path parts and unprintable characters are removed).
kept_file_name = file_name.map(lambda s: s.replace("/", "_") + ".csv")


def csv_text(rows: list[dict[str, str]], delimiter: str = ",") -> str:
    header = sorted({k for row in rows for k in row})
    out = io.StringIO()
    writer = csv.DictWriter(out, header, delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


COLUMNS = ["record_id", "age", "weight", "consent", "crp", "consent_date", "symptoms___2", "demographics_complete",
           "redcap_event_name", "redcap_data_access_group", "redcap_repeat_instrument",
           "redcap_repeat_instance"]  # fmt: skip
# (NUL and lone carriage returns come with the binary files: here they would stop nearly every file at the upload.)
cell = st.text(max_size=12) | st.sampled_from(["", "1", "0", "AAA-0001", "N-1", "2020-01-01", '"', "a\nb"])


@st.composite
def rough_csv(draw) -> str:
    """Text that looks like a flat CSV file: known and unknown columns, any cells, joined without quoting."""
    header = draw(st.lists(st.sampled_from(COLUMNS) | junk, min_size=1, max_size=6))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    lines = [header, *draw(st.lists(st.lists(cell, max_size=len(header) + 1), min_size=1, max_size=5))]
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return newline.join(delimiter.join(line) for line in lines)


encodings = st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"])
rough_csv_file = st.tuples(rough_csv(), st.sampled_from(["utf-8", "cp1252"])).map(
    lambda t: t[0].encode(t[1], "replace")
)
HUGE_CELL = HugeBytes(b"record_id,age\nAAA-0001," + b"9" * 140_000)  # a cell over the csv module's field limit
any_file = (
    st.binary(max_size=400)
    | st.tuples(rough_csv() | st.text(max_size=200), encodings).map(lambda t: t[0].encode(t[1], "replace"))
    | st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                   lambda children: st.lists(children, max_size=4)
                   | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=12)
    .map(lambda doc: json.dumps(doc).encode())
)  # fmt: skip


def mostly(*valid: str) -> st.SearchStrategy:
    """One of the page's own choices two times in three, else junk: enough files get as far as their dry run."""
    return st.sampled_from([True, True, False]).flatmap(lambda ok: st.sampled_from(valid) if ok else field_value)


upload_options = st.fixed_dictionaries(
    {},
    optional={
        "date_format": mostly(*DATE_FORMATS),
        "delimiter": mostly("", "comma", "semicolon", "tab"),
        "raw_or_label": mostly("raw", "label"),
        "overwrite": mostly("1", ""),
        "reason": field_value,
        "unknown_option": field_value,
    },
)


# -- the record import tool: upload, dry-run check page, commit ------------------------------------------------


def upload(pages, who: str, data: bytes, fields: Body, name: str = "data.csv"):
    """Upload a file; the answer and, when a dry run was started, its run (checked already: the job ran)."""
    code = pages.world.project.code
    before = set(ImportRun.objects.values_list("pk", flat=True))
    answer = pages.run(who, "post", reverse("import-upload", args=[code]), **multipart(fields, {"file": (name, data)}))
    run = ImportRun.objects.exclude(pk__in=before).first()
    return answer, run


def try_commit(pages, who: str, run: ImportRun) -> str:
    """Commit a file that has problems: refused, with a message, and the run is not committed."""
    code = pages.world.project.code
    answer = pages.run(who, "post", reverse("import-commit", args=[code, run.public_id]))
    text = flash(pages, who, answer)
    assert "Commit refused: " in text, text[:2000]
    run.refresh_from_db()
    assert run.status in (ImportRun.Status.REJECTED, ImportRun.Status.FAILED), run.status
    return text


@PROPERTY
@given(bad=import_with_one_bad_cell(), delimiter=st.sampled_from([",", ";", "\t"]),
       named=st.booleans(), overwrite=st.booleans(), reason=junk)  # fmt: skip
def test_an_uploaded_file_with_one_bad_cell_is_rejected_naming_row_and_field_and_nothing_is_applied(
    pages, bad, delimiter, named, overwrite, reason
):
    rows, record, column, value = bad
    data = csv_text(rows, delimiter).encode()
    fields: Body = {"date_format": "YMD", "raw_or_label": "raw", "reason": reason}
    fields["delimiter"] = {",": "comma", ";": "semicolon", "\t": "tab"}[delimiter] if named else ""
    if overwrite:
        fields["overwrite"] = "1"
    before = data_checksum()
    answer, run = upload(pages, "coord_a", data, fields)
    assert run is not None and answer.status_code == 302, flash(pages, "coord_a", answer)[:2000]
    run.refresh_from_db()
    assert run.status == ImportRun.Status.REJECTED, (run.status, run.problems)
    # What and where: the field, and for a value its record, its value and its row in the file (header = 1).
    if column == "no_such_field":
        assert any(p["field"] == column and p["row"] is None for p in run.problems), run.problems
    else:
        row = 2 + next(i for i, r in enumerate(rows) if r["record_id"] == record)
        assert any(p["field"] == column and p["row"] == row and p["record"] == record
                   and p["value"] == value.strip() for p in run.problems), run.problems  # fmt: skip
    page = flash(pages, "coord_a", answer)  # the check page lists the same problems, with row and field
    assert "problems found" in page or "problem found" in page, page[:2000]
    assert f"<code>{column}</code>" in page
    if column != "no_such_field":
        assert f"<td>{row}</td><td>{record}</td>" in page, page[:4000]
    assert data_checksum() == before  # upload + dry run wrote nothing
    try_commit(pages, "coord_a", run)
    assert data_checksum() == before  # and a commit of a rejected file is refused as a whole


@PROPERTY
@given(data=rough_csv_file | any_file, fields=upload_options, name=kept_file_name,
       who=st.sampled_from(["dm", "coord_a"]))  # fmt: skip
@example(data=b"record_id\nN-1\n", fields={}, name="\x1f", who="dm")  # a name Django drops: no file arrives
@example(data=HUGE_CELL, fields={}, name="\x1f", who="dm")  # ... and when it is long, Django's own 400 for the body
@example(data=HUGE_CELL, fields={}, name="big.csv", who="coord_a")
def test_any_bytes_and_options_on_the_upload_page_never_answer_500_nor_change_data(pages, data, fields, name, who):
    before = data_checksum()
    answer, run = upload(pages, who, data, fields, name)
    event("Django refused the body" if unparsed(answer) else f"run {run.status}" if run else "refused at upload")
    if unparsed(answer):
        assert run is None
    elif run is None:  # refused at the upload: back to the tool with a message saying why
        text = flash(pages, who, answer)
        # (A file whose name Django cannot keep does not arrive at all: the page asks for one.)
        assert re.search(r"Import refused: \w|Choose a CSV file to import", text), text[:2000]
        assert GENERIC_500 not in text
    else:
        run.refresh_from_db()
        assert run.status in (ImportRun.Status.REJECTED, ImportRun.Status.CHECKED), (run.status, run.error)
        page = flash(pages, who, answer)
        for p in run.problems:
            assert p["message"].strip(), p
            assert p["row"] is None or p["row"] >= 2, p  # a row is a data row of the file
        assert data_checksum() == before
        if run.status == ImportRun.Status.REJECTED:
            assert "Nothing was written" in page
            report = pages.run(who, "get", reverse("import-report", args=[CODE, run.public_id]))
            assert report.status_code == 200
            try_commit(pages, who, run)
    assert data_checksum() == before


@pytest.mark.parametrize(("data", "row", "cause"), [
    (b"record_id,age\rAAA-0001,9\r", 1, "a lone carriage return"),  # an old Mac file: was a 500 (csv.Error)
    (b"record_id,age\nAAA-0001,9\nAAA-0002,\x009\n", 3, "NUL characters"),  # was a 500 (PostgreSQL refuses NUL)
    (b"record_id,age\nAAA-0001," + b"9" * 140_000 + b"\n", 2, "longer than"),  # was a 500 (csv field limit)
])  # fmt: skip
def test_a_file_the_csv_reader_cannot_read_is_refused_at_the_upload_naming_its_row(pages, data, row, cause):
    before = data_checksum()
    answer, run = upload(pages, "coord_a", data, {"reason": "with a NUL\x00"})
    assert run is None
    text = flash(pages, "coord_a", answer)
    assert re.search(rf"Import refused: row {row}: [^<]*{cause}", text), text[:3000]
    assert data_checksum() == before


# -- the data dictionary page: upload with preview, then apply -------------------------------------------------


def dictionary_url() -> str:
    return reverse("crf:dictionary", args=[CODE])


@PROPERTY
@given(broken=broken_dictionary(), name=kept_file_name, confirm=field_value)
def test_a_malformed_dictionary_on_the_design_page_is_refused_naming_its_row_and_changes_nothing(
    pages, broken, name, confirm
):
    dictionary, rows = broken
    before = data_checksum()
    answer = pages.run("dm", "post", dictionary_url(),
                       **multipart({"step": "preview"}, {"file": (name, dictionary.encode())}))  # fmt: skip
    assert answer.status_code == 422, shown(answer)[:2000]
    errors = answer.context["result"].errors
    assert any(e.row in rows for e in errors), errors
    page = shown(answer)
    assert "nothing was stored" in page
    assert any(f"<tr><td>{n}</td>" in page for n in rows), page[:4000]  # the row column of the error table
    assert "confirm-form" not in page  # nothing to apply
    # A hand-made "apply" after a refused preview finds nothing pending and changes nothing.
    applied = pages.run("dm", "post", dictionary_url(), **multipart({"step": "apply", "confirm_destructive": confirm}))
    assert "Upload the dictionary again" in flash(pages, "dm", applied)
    assert design_of(pages.world.project).version_number == 1
    assert data_checksum() == before


@PROPERTY
@given(data=any_file | broken_dictionary().map(lambda b: b[0].encode("utf-16")), name=kept_file_name,
       step=st.sampled_from(["preview", "", "apply"]) | field_value)  # fmt: skip
@example(data=HUGE_CELL, name="d.csv", step="preview")
@example(data=b"field_name\n", name="\x1f", step="preview")  # a name Django drops: the form asks for a file
@example(data=HUGE_CELL, name="\x1f", step="preview")  # ... and when it is long, Django's own 400 for the body
def test_any_bytes_on_the_design_page_never_answer_500_nor_change_the_design(pages, data, name, step):
    before = data_checksum()
    answer = pages.run("dm", "post", dictionary_url(), **multipart({"step": step}, {"file": (name, data)}))
    event(f"answer {answer.status_code}")
    if answer.status_code == 302:  # "apply" with nothing pending
        assert "Upload the dictionary again" in flash(pages, "dm", answer)
    elif not unparsed(answer):
        assert answer.status_code in (400, 422), (answer.status_code, shown(answer)[:2000])
        page = shown(answer)
        if answer.status_code == 422:
            errors = answer.context["result"].errors
            assert errors and all(str(e).strip() for e in errors), errors
            assert "nothing was stored" in page
        else:  # the upload form itself refused the file (empty, no name): it says so at the field
            assert answer.context["form"].errors, page[:2000]
    assert design_of(pages.world.project).version_number == 1
    assert data_checksum() == before


@PROPERTY
@given(name=kept_file_name, confirm=st.none() | field_value, note=field_value)
def test_a_valid_dictionary_with_junk_names_and_fields_is_previewed_and_applied_without_500(pages, name, confirm, note):
    """The only path that writes: junk in the file name and the confirm step's fields must not break the write."""
    project = pages.world.project
    version = design_of(project).version_number
    source = classic_dictionary().replace("Date of consent", "Date of consent (v2)").encode()
    answer = pages.run("dm", "post", dictionary_url(),
                       **multipart({"step": "preview", "note": note}, {"file": (name, source)}))  # fmt: skip
    assert answer.status_code == 200, shown(answer)[:2000]
    fields: Body = {"step": "apply", "note": note}
    if confirm is not None:
        fields["confirm_destructive"] = confirm
    applied = pages.run("dm", "post", dictionary_url(), **multipart(fields))
    assert "is now current" in flash(pages, "dm", applied)
    assert design_of(project).version_number == version + 1  # one new version per apply, not two, not none


# -- the data-quality rule CSV import ------------------------------------------------------------------------

RULE_HEADER = "rule_name,rule_logic,real_time_execution"
GOOD_RULES = [
    ("R01 adult", "[age] > 17", "y"),
    ("R02 heavy", "[weight] > 100", "n"),
    ("R03 consent", "[consent] = '0'", ""),
]
BAD_LOGIC = ["[no_such_field] = '1'", "[age] = = 1", "[age] >", "(([age]", ""]


def rules_state() -> list[tuple]:
    return list(Rule.objects.order_by("project_id", "code").values_list("project_id", "code", "name", "logic",
                                                                         "real_time", "active", "order"))  # fmt: skip


@st.composite
def rules_with_one_bad_line(draw) -> tuple[str, int]:
    """Three good rules with one bad line (bad logic or no name) somewhere; the CSV and the bad line's number."""
    lines = [list(r) for r in draw(st.permutations(GOOD_RULES))]
    i = draw(st.integers(0, len(lines)))
    bad = [draw(word_or_blank), draw(st.sampled_from(BAD_LOGIC)), "y"]
    if bad[0]:
        bad[1] = bad[1] or "[age] >"  # a named rule needs a defect in its logic
    else:
        bad[1] = draw(st.sampled_from(["[age] > 1", *BAD_LOGIC]))  # no name is a defect by itself
    lines.insert(i, bad)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RULE_HEADER.split(","))
    writer.writerows(lines)
    return out.getvalue(), i + 2


word_or_blank = st.sampled_from(["", " ", "R09 bad", "rule with spaces"])


@PROPERTY
@given(bad=rules_with_one_bad_line(), replace=st.sampled_from(["", "1", "on"]))
def test_a_rule_file_with_one_bad_line_is_refused_naming_the_line_and_nothing_is_saved(pages, bad, replace):
    text, line = bad
    before, rules = data_checksum(), rules_state()
    url = reverse("quality-rules-csv", args=[CODE])
    answer = pages.run("dm", "post", url, **multipart({"replace": replace}, {"file": ("rules.csv", text.encode())}))
    page = flash(pages, "dm", answer)
    assert "Nothing imported: " in page and f"line {line}: " in page, page[:3000]
    assert rules_state() == rules  # the good lines around the bad one were not saved either
    assert data_checksum() == before


def rule_lines(lines: list[tuple[str, str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RULE_HEADER.split(","))
    writer.writerows(lines)
    return out.getvalue().encode()


# Good logic under any name (up to the longest one the table takes) and flag: lines that get as far as being saved.
junk_rules = st.lists(st.tuples(junk | st.just("R" * 500), st.sampled_from([r[1] for r in GOOD_RULES]), junk),
                      min_size=1, max_size=3).map(rule_lines)  # fmt: skip


@PROPERTY
@given(data=any_file | junk_rules | st.text(max_size=200).map(lambda t: (RULE_HEADER + "\n" + t).encode()),
       replace=st.sampled_from(["", "1"]) | field_value)  # fmt: skip
def test_any_bytes_as_a_rule_file_never_answer_500(pages, data, replace):
    before, rules = data_checksum(audit=False), rules_state()
    answer = pages.run("dm", "post", reverse("quality-rules-csv", args=[CODE]),
                       **multipart({"replace": replace}, {"file": ("rules.csv", data)}))  # fmt: skip
    page = flash(pages, "dm", answer)
    event("refused" if "Nothing imported: " in page else "imported")
    if "Nothing imported: " in page:
        assert rules_state() == rules
    else:
        assert "rules imported" in page, page[:3000]
    assert data_checksum(audit=False) == before  # rules are not clinical data nor the design


@pytest.mark.parametrize("data", [
    b"rule_name,rule_logic,real_time_execution\nR01\x00,[age] > 1,y\n",  # PostgreSQL stores no NUL: was a 500
    rule_lines([("R" * 501, "[age] > 1", "y")]),  # longer than the table's column: was a 500 (DataError)
    rule_lines([("R01", "[age] > 1", "y" * 140_000)]),  # over the csv module's cell limit: was a 500 (csv.Error)
])  # fmt: skip
def test_rule_files_the_table_or_the_csv_module_cannot_take_are_refused_with_a_message(pages, data):
    rules = rules_state()
    answer = pages.run("dm", "post", reverse("quality-rules-csv", args=[CODE]),
                       **multipart({}, {"file": ("rules.csv", data)}))  # fmt: skip
    assert "Nothing imported: " in flash(pages, "dm", answer)
    assert rules_state() == rules


def test_an_old_mac_rule_file_is_read(pages):
    """Lone carriage returns end the lines (it was a 500, csv.Error)."""
    data = b"rule_name,rule_logic,real_time_execution\rMac rule,[age] > 1,y\r"
    answer = pages.run("dm", "post", reverse("quality-rules-csv", args=[CODE]),
                       **multipart({}, {"file": ("rules.csv", data)}))  # fmt: skip
    assert "1 rules imported" in flash(pages, "dm", answer)


# -- junk in the query string and form fields of those pages -----------------------------------------------------


def a_rejected_run(pages) -> ImportRun:
    """A run of site A's coordinator to show and to try to commit, made through the upload page once."""
    run = ImportRun.objects.filter(status=ImportRun.Status.REJECTED).first()
    if run is None:
        _answer, run = upload(pages, "coord_a", b"record_id,age\nAAA-0001,old\n", {})
    return run


def query_string(parts: list[tuple[bytes, bytes]], percent_encoded: bool) -> str:
    """A raw query string as WSGI hands it over (bytes as latin-1 text): percent-encoded, or the bytes as they are."""
    if percent_encoded:
        return "&".join(f"{quote_from_bytes(k)}={quote_from_bytes(v)}" for k, v in parts)
    return "&".join(f"{k.decode('latin-1')}={v.decode('latin-1')}" for k, v in parts)


raw = st.binary(max_size=20) | junk.map(str.encode) | st.just(b"9" * 5000)
value = raw | st.sampled_from([b"", b"abc", b"-1", b"0", b"1", b"1.5", b"1\x00", b"9" * 30, b"csv", b"json", b"\xff"])
known_keys = st.sampled_from([b"page", b"format", b"version", b"step", b"status", b"rule", b"site", b"record"])
query = st.tuples(st.dictionaries(known_keys, value, max_size=4), st.lists(st.tuples(raw, raw), max_size=2),
                  st.booleans()).map(lambda t: query_string([*t[0].items(), *t[1]], t[2]))  # fmt: skip
PAGES = ["import-page", "import-run", "import-status", "import-report", "crf:dictionary", "crf:dictionary_download",
         "quality-rules-csv"]  # fmt: skip


@PROPERTY
@given(page=st.sampled_from(PAGES), qs=query, who=st.sampled_from(["dm", "coord_a"]))
@example(page="crf:dictionary_download", qs="version=abc", who="dm")  # was a 500 (int() of the version)
@example(page="crf:dictionary_download", qs="format=json&version=1%00", who="dm")
@example(page="crf:dictionary_download", qs="version=" + "9" * 5000, who="dm")  # int() refuses 4300+ digits
def test_any_query_string_on_the_pages_never_answers_500(pages, page, qs, who):
    run = a_rejected_run(pages)
    args = [CODE, run.public_id] if page.startswith("import-") and page != "import-page" else [CODE]
    before = data_checksum(audit=False)
    answer = pages.run(who, "get", reverse(page, args=args), QUERY_STRING=qs)
    event(f"{page} {answer.status_code}")
    assert answer.status_code in (200, 302, 400, 404), answer.status_code
    assert data_checksum(audit=False) == before


@PROPERTY
@given(fields=st.dictionaries(st.sampled_from(["step", "confirm_destructive", "replace", "date_format", "delimiter",
                                               "reason", "overwrite"]) | junk, field_value, max_size=5),
       page=st.sampled_from(["import-upload", "import-commit", "crf:dictionary", "quality-rules-csv"]))  # fmt: skip
def test_any_form_fields_without_a_file_never_answer_500_nor_change_data(pages, fields, page):
    run = a_rejected_run(pages)
    args = [CODE, run.public_id] if page == "import-commit" else [CODE]
    before = data_checksum()
    answer = pages.run("coord_a" if page.startswith("import") else "dm", "post", reverse(page, args=args),
                       **multipart(fields))  # fmt: skip
    assert answer.status_code in (302, 400), answer.status_code
    assert data_checksum() == before
