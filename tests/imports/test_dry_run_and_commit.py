"""The import tool's dry run, commit, audit and site scoping, through the services the pages and command use."""

from __future__ import annotations

import hashlib

from registry.imports.models import ImportRun
from registry.imports.services import UploadOptions, check_file, commit_file, rejected_rows_csv, upload
from registry.models import AuditEvent, FormInstance, Record


def _csv(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def _form(name: str, event: str, instrument: str) -> FormInstance | None:
    return FormInstance.objects.filter(record__record_id=name, event=event, instrument=instrument).first()


def _state() -> tuple:
    return (
        Record.objects.count(),
        # Instances and a text key: two instances of one form must not make sorted() compare dicts.
        sorted(
            FormInstance.objects.values_list("record__record_id", "event", "instrument", "instance", "data", "status"),
            key=repr,
        ),
        AuditEvent.objects.count(),
    )


def test_dry_run_lists_one_error_of_each_kind_and_writes_nothing(sojia):
    a1, a2, b1 = sojia.names["A1"], sojia.names["A2"], sojia.names["B1"]
    data = _csv([
        "record_id;redcap_event_name;sex;visit_date;ajc;nonsense",
        f"{a1};baseline_arm_1;7;;;",                # row 2: invalid code
        f"{a1};month_1_arm_1;;31/02/2021;;",        # row 3: bad date (DMY)
        f"{a1};week_1_arm_1;;;99;",                 # row 4: out of hard range
        f"{a1};nowhere_arm_1;;;3;",                 # row 5: unknown event
        f"{a1};day_3_arm_1;1;;;",                   # row 6: enrollment is not on day 3
        f"{a2};baseline_arm_1;;;3;",                # row 7: locked form
        f"{b1};baseline_arm_1;;;3;",                # row 8: another site's record
        f"{a1};month_3_arm_1;;;;x",                 # row 9: unknown field (its column)
    ])  # fmt: skip
    before = _state()
    run = upload(scope=sojia.scope("coord_a"), file_name="visits.csv", data=data,
                 options=UploadOptions(date_format="DMY"))  # fmt: skip
    assert run.delimiter == ";"  # sniffed from the header
    run = check_file(run)

    assert run.status == ImportRun.Status.REJECTED
    found = {(p["row"], p["field"], p["message"]) for p in run.problems}
    by_row = {}
    for row, field, message in found:
        by_row.setdefault(row, []).append((field, message))

    def has(row, field, words):
        return any(f == field and words in m for f, m in by_row.get(row, [])), by_row

    assert has(2, "sex", "is not one of the choices")[0]
    assert has(3, "visit_date", "not a date in the DMY order")[0]
    assert has(4, "ajc", "above the maximum (75)")[0]
    assert has(5, "redcap_event_name", "not an event of this project")[0]
    assert has(6, "sex", "is not used at this event")[0]
    assert has(7, "", "locked")[0]
    assert has(8, "", "site you cannot write to")[0]
    assert has(None, "nonsense", "not a field of this project")[0]
    assert len(run.problems) == 8, run.problems
    problem_8 = next(p for p in run.problems if p["row"] == 8)
    assert problem_8["record"] == b1

    assert _state() == before  # nothing written, not even audit rows
    report = rejected_rows_csv(run).splitlines()
    assert report[0] == "row,record,event,field,value,problem"
    assert [line.split(",")[0] for line in report[1:]] == ["2", "3", "4", "5", "6", "7", "8", ""]


def test_corrected_file_commits_with_every_change_audited(sojia):
    a1 = sojia.names["A1"]
    data = _csv([
        "record_id,redcap_event_name,sex,visit_date,ajc,crp",
        f"{a1},baseline_arm_1,2,,5,",
        f"{a1},month_1_arm_1,,28/02/2021,1,3.5",
        "A-NEW-1,baseline_arm_1,1,01/03/2021,,",
    ])  # fmt: skip
    scope = sojia.scope("coord_a")
    run = check_file(upload(scope=scope, file_name="fixed.csv", data=data, options=UploadOptions(date_format="DMY")))
    assert run.status == ImportRun.Status.CHECKED, run.problems
    preview = {(c["record"], c["event"], c["field"]): c for c in run.preview}
    assert preview[(a1, "baseline_arm_1", "ajc")]["old"] == "2" and preview[(a1, "baseline_arm_1", "ajc")]["new"] == "5"
    assert preview[(a1, "month_1_arm_1", "visit_date")]["new"] == "2021-02-28"
    assert preview[(a1, "month_1_arm_1", "visit_date")]["new_instance"] is True
    assert preview[("A-NEW-1", "baseline_arm_1", "sex")]["new_record"] is True
    assert _form(a1, "month_1_arm_1", "disease_activity") is None  # still only a preview
    assert not Record.objects.filter(record_id="A-NEW-1").exists()

    audit_before = AuditEvent.objects.count()
    run = commit_file(run)
    assert run.status == ImportRun.Status.COMMITTED
    assert run.content == ""  # the file's data now live only in the records
    assert _form(a1, "baseline_arm_1", "disease_activity").data["ajc"] == "5"
    assert _form(a1, "month_1_arm_1", "disease_activity").data["visit_date"] == "2021-02-28"
    assert Record.objects.get(record_id="A-NEW-1").site == sojia.site_a

    rows = AuditEvent.objects.filter(pk__gt=0).order_by("sequence")[audit_before:]
    changes = [r for r in rows if r.action == "data_change"]
    assert {r.source for r in changes} == {"import"}
    audited = {(r.record_id, r.event, r.field, r.new_value) for r in changes}
    for cell in run.preview:
        assert (cell["record"], cell["event"], cell["field"], cell["new"]) in audited
    assert len(changes) == run.summary["values_changed"]
    summary = [r for r in rows if r.action == "record_import"]
    assert len(summary) == 1
    assert summary[0].details["sha256"] == hashlib.sha256(data).hexdigest()
    assert summary[0].details["rows"] == 3


def test_coordinator_cannot_import_into_another_sites_record(sojia):
    b1 = sojia.names["B1"]
    before = _form(b1, "baseline_arm_1", "disease_activity").data
    data = _csv(["record_id,redcap_event_name,ajc", f"{b1},baseline_arm_1,9"])
    run = check_file(upload(scope=sojia.scope("coord_a"), file_name="b.csv", data=data, options=UploadOptions()))
    assert run.status == ImportRun.Status.REJECTED
    assert [(p["row"], p["record"]) for p in run.problems] == [(2, b1)]
    # Even a commit forced past the dry run is refused by the same rule.
    run.status = ImportRun.Status.CHECKED
    run = commit_file(run)
    assert run.status == ImportRun.Status.FAILED
    assert _form(b1, "baseline_arm_1", "disease_activity").data == before
    # Her colleague at site b may.
    run = check_file(upload(scope=sojia.scope("coord_b"), file_name="b.csv", data=data, options=UploadOptions()))
    assert commit_file(run).status == ImportRun.Status.COMMITTED
    assert _form(b1, "baseline_arm_1", "disease_activity").data["ajc"] == "9"


def test_labels_tabs_and_blanks(sojia):
    a1 = sojia.names["A1"]
    scope = sojia.scope("dm")
    data = _csv(["record_id\tredcap_event_name\tsex\tcrp\tajc", f"{a1}\tBaseline\tFemale\t\t4"])
    run = check_file(upload(scope=scope, file_name="l.tsv", data=data, options=UploadOptions(raw_or_label="label")))
    assert run.status == ImportRun.Status.CHECKED, run.problems
    commit_file(run)
    assert _form(a1, "baseline_arm_1", "enrollment").data["sex"] == "2"
    assert _form(a1, "baseline_arm_1", "disease_activity").data["crp"] == "12.0"  # a blank leaves it alone
    data = _csv(["record_id,redcap_event_name,crp", f"{a1},baseline_arm_1,"])
    run = check_file(upload(scope=scope, file_name="o.csv", data=data, options=UploadOptions(overwrite=True)))
    assert [(c["field"], c["old"], c["new"]) for c in run.preview if c["field"] == "crp"] == [("crp", "12.0", None)]
    commit_file(run)
    assert "crp" not in _form(a1, "baseline_arm_1", "disease_activity").data
