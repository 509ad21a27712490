"""The record status dashboard: records x events x instruments, in a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Paginator
from django.db.models import Count, Min, Q, QuerySet

from registry.access import Scope
from registry.models import FormInstance, Record
from registry.services.design import Design

# A cell's colour: REDCap's grey/red/yellow/green plus locked.
NO_DATA, INCOMPLETE, UNVERIFIED, COMPLETE, LOCKED = "no_data", "incomplete", "unverified", "complete", "locked"
STATUS_NAMES = {0: INCOMPLETE, 1: UNVERIFIED, 2: COMPLETE}
CELL_STATUSES = (NO_DATA, INCOMPLETE, UNVERIFIED, COMPLETE, LOCKED)


@dataclass
class Cell:
    event: str
    instrument: str
    status: str
    instances: int = 0


@dataclass
class DashboardRow:
    record: Record
    cells: list[Cell]

    def by_event(self) -> list[list[Cell]]:
        """Cells grouped per event, in column order: one table cell per event, one dot per instrument."""
        groups: list[list[Cell]] = []
        for cell in self.cells:
            if groups and groups[-1][0].event == cell.event:
                groups[-1].append(cell)
            else:
                groups.append([cell])
        return groups


@dataclass
class DashboardFilters:
    site: str = ""
    event: str = ""
    instrument: str = ""
    status: str = ""
    record_id: str = ""


def columns(
    design: Design, event_filter: str = "", instrument_filter: str = "", scope: Scope | None = None
) -> list[tuple[str, str]]:
    cols = []
    events = [e for e, _ in design.events] if design.is_longitudinal else [design.default_event()]
    for event in events:
        if event_filter and event != event_filter:
            continue
        for instrument in design.instruments_for_event(event):
            if instrument_filter and instrument != instrument_filter:
                continue
            if scope is not None and not scope.can_read_form(instrument):
                continue
            cols.append((event, instrument))
    return cols


def filtered_records(scope: Scope, design: Design, filters: DashboardFilters) -> QuerySet[Record]:
    records = scope.records().select_related("site").order_by("record_id")
    if filters.site:
        records = records.filter(site__code=filters.site)
    if filters.record_id:
        records = records.filter(record_id__icontains=filters.record_id)
    if filters.status and filters.instrument:
        forms = FormInstance.objects.filter(instrument=filters.instrument)
        if filters.event:
            forms = forms.filter(event=filters.event)
        if filters.status == NO_DATA:
            records = records.exclude(pk__in=forms.values("record_id"))
        elif filters.status == LOCKED:
            records = records.filter(pk__in=forms.filter(locked=True).values("record_id"))
        else:
            code = {v: k for k, v in STATUS_NAMES.items()}.get(filters.status)
            if code is not None:
                records = records.filter(pk__in=forms.filter(status=code, locked=False).values("record_id"))
    return records


def dashboard_page(scope: Scope, design: Design, filters: DashboardFilters, page: int, per_page: int = 50):
    cols = columns(design, filters.event, filters.instrument, scope)
    paginator = Paginator(filtered_records(scope, design, filters), per_page)
    page_obj = paginator.get_page(page)
    records = list(page_obj.object_list)
    summary: dict[tuple[int, str, str], dict] = {}
    if records:
        rows = (
            FormInstance.objects.filter(record__in=[r.pk for r in records])
            .values("record_id", "event", "instrument")
            .annotate(n=Count("id"), worst=Min("status"), n_locked=Count("id", filter=Q(locked=True)))
        )
        for row in rows:
            summary[(row["record_id"], row["event"], row["instrument"])] = row
    result = []
    for record in records:
        cells = []
        for event, instrument in cols:
            row = summary.get((record.pk, event, instrument))
            if row is None:
                status = LOCKED if record.locked else NO_DATA
                cells.append(Cell(event, instrument, status, 0))
                continue
            all_locked = row["n_locked"] == row["n"]
            status = LOCKED if record.locked or all_locked else STATUS_NAMES.get(row["worst"], INCOMPLETE)
            cells.append(Cell(event, instrument, status, row["n"]))
        result.append(DashboardRow(record, cells))
    return page_obj, cols, result
