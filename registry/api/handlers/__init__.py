"""The handler of each (content, action): a function of one ApiCall returning a response."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpResponse

from registry.api.call import ApiCall
from registry.api.handlers import design, files, log, people, project, records
from registry.custom_reports.api import report_export

Handler = Callable[[ApiCall], HttpResponse]

ROUTES: dict[tuple[str, str], Handler] = {
    ("version", "export"): project.version_export,
    ("project", "export"): project.project_export,
    ("generateNextRecordName", "export"): project.next_record_name,
    ("metadata", "export"): design.metadata_export,
    ("metadata", "import"): design.metadata_import,
    ("instrument", "export"): design.instrument_export,
    ("event", "export"): design.event_export,
    ("event", "import"): design.event_import,
    ("arm", "export"): design.arm_export,
    ("arm", "import"): design.arm_import,
    ("formEventMapping", "export"): design.mapping_export,
    ("formEventMapping", "import"): design.mapping_import,
    ("repeatingFormsEvents", "export"): design.repeating_export,
    ("repeatingFormsEvents", "import"): design.repeating_import,
    ("exportFieldNames", "export"): design.field_names_export,
    ("record", "export"): records.record_export,
    ("record", "import"): records.record_import,
    ("record", "delete"): records.record_delete,
    ("dag", "export"): people.dag_export,
    ("userDagMapping", "export"): people.user_dag_export,
    ("user", "export"): people.user_export,
    ("log", "export"): log.log_export,
    ("file", "export"): files.file_export,
    ("file", "import"): files.file_import,
    ("file", "delete"): files.file_remove,
    ("report", "export"): report_export,
}
