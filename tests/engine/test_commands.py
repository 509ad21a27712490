"""The management commands: import_dictionary, export_dictionary, import_study, import_design, export_design."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from forms.models import Project

from .conftest import CORPUS, dd_rows, row, store_value


def _run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_import_and_export_dictionary_commands(tmp_path):
    source = CORPUS / "OuhscBbmc__REDCapR__simple_dictionary.csv"
    out, _ = _run("import_dictionary", str(source), "--project", "simple", "--title", "Simple")
    assert "simple: version 1 created (16 fields, 3 forms)" in out and "fields added (16)" in out
    assert Project.objects.get(code="simple").title == "Simple"
    csv_out, _ = _run("export_dictionary", "--project", "simple")
    assert csv_out == source.read_text()
    json_out, _ = _run("export_dictionary", "--project", "simple", "--format", "json")
    assert len(json.loads(json_out)) == 16
    out, _ = _run("import_dictionary", str(source), "--project", "simple", "--dry-run")
    assert "no changes" in out and "nothing stored" in out
    assert Project.objects.get(code="simple").current_version.number == 1


@pytest.mark.django_db
def test_import_dictionary_command_prints_every_error_and_fails(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(dd_rows(row("record_id", "demo", "text"), row("x", "demo", "txt"), row("x", "demo", "text")))
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 error"):
        call_command("import_dictionary", str(path), "--project", "bad", stdout=io.StringIO(), stderr=err)
    lines = err.getvalue().splitlines()
    assert 'row 3, column D (Field Type): "txt" is not a field type' in lines[0]
    assert lines[1].startswith("row 4, column A (Variable / Field Name):")
    assert not Project.objects.filter(code="bad").exists()


@pytest.mark.django_db
def test_destructive_change_needs_the_flag(tmp_path):
    v1, v2 = tmp_path / "v1.csv", tmp_path / "v2.csv"
    v1.write_bytes(dd_rows(row("record_id", "demo", "text"), row("sex", "demo", "radio", choices="1, M | 2, F")))
    v2.write_bytes(dd_rows(row("record_id", "demo", "text"), row("sex", "demo", "radio", choices="1, M")))
    _run("import_dictionary", str(v1), "--project", "destr")
    store_value("destr", "sex", "2")
    with pytest.raises(CommandError):
        _run("import_dictionary", str(v2), "--project", "destr")
    out, _ = _run("import_dictionary", str(v2), "--project", "destr", "--confirm-destructive")
    assert "version 2 created" in out and "codes removed 2" in out


@pytest.mark.django_db
def test_design_commands(tmp_path):
    data = tmp_path / "dd.csv"
    data.write_bytes(dd_rows(row("record_id", "demo", "text")))
    _run("import_dictionary", str(data), "--project", "cmd")
    events = tmp_path / "events.csv"
    events.write_text("event_name,arm_num\nBaseline,1\n")
    out, _ = _run("import_design", str(events), "--project", "cmd", "--what", "events")
    assert "version 2 created" in out
    out, _ = _run("export_design", "--project", "cmd", "--what", "events")
    assert out == (
        "event_name,arm_num,day_offset,offset_min,offset_max,unique_event_name,custom_event_label\n"
        "Baseline,1,0,0,0,baseline_arm_1,\n"
    )
    out, _ = _run("export_design", "--project", "cmd", "--what", "arms")
    assert out == 'arm_num,name\n1,"Arm 1"\n'


@pytest.mark.django_db
def test_import_study_command(tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "project.json").write_text(
        json.dumps(
            {"code": "mini", "title": "Mini", "is_longitudinal": False, "missing_data_codes": "NA, Not applicable"}
        )
    )
    (folder / "data_dictionary.csv").write_bytes(dd_rows(row("record_id", "demo", "text")))
    out, _ = _run("import_study", str(folder))
    assert "mini: version 1 created (1 fields, 1 forms)" in out
    project = Project.objects.get(code="mini")
    assert (project.title, [m.code for m in project.current_version.missing_data_codes.all()]) == ("Mini", ["NA"])
