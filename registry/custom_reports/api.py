"""`content=report`: a saved report's rows, as PyCap's `export_report(report_id=...)` asks for them."""

from __future__ import annotations

from django.http import HttpResponse

from registry.api.call import ApiCall
from registry.api.errors import ApiError, forbidden
from registry.api.record_export import DELIMITERS
from registry.api.renderers import table_response
from registry.custom_reports.models import Report
from registry.custom_reports.services import ReportError, may_open, report_table


def report_export(call: ApiCall) -> HttpResponse:
    call.require_export()
    params = call.params
    report_id = params.get("report_id").strip()
    report = Report.objects.filter(project=call.project, pk=int(report_id)).first() if report_id.isdigit() else None
    if report is None:
        # REDCap's words, which clients match on.
        raise forbidden(
            f"The API request cannot complete because report_id={report_id} does not belong to this project."
        )
    if not may_open(call.scope, report):
        raise forbidden("You do not have access to this report.")
    call.design()
    try:
        table = report_table(
            call.scope,
            report,
            raw_or_label=params.choice("rawOrLabel", ("raw", "label"), "raw"),
            export_checkbox_label=params.flag("exportCheckboxLabel"),
            include_dag=False,
        )
    except ReportError as exc:
        raise ApiError(str(exc)) from None
    call.audit("report_export", report=report.pk, rows=len(table.rows), format=call.fmt, profile=table.profile)
    names = [c.name for c in table.columns]
    label_headers = params.choice("rawOrLabelHeaders", ("raw", "label"), "raw") == "label"
    header = [c.label or c.name for c in table.columns] if label_headers and call.fmt == "csv" else None
    delimiter = DELIMITERS.get(params.get("csvDelimiter") or ",", ",")
    return table_response(call.fmt, names, table.rows, delimiter=delimiter, header=header)
