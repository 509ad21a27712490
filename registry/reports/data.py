"""Reading report inputs: the few non-identifying values a report needs, from the scope's records.

Reports never read identifier fields into their results: `values` takes an explicit list of
field names, and the identifier fields of the design are refused there, so a table or chart
cannot show a name, date of birth, MRN or postcode whoever looks at it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from registry.access import Scope
from registry.models import FormInstance
from registry.services.design import Design

SUSPECTED, ESTABLISHED = "1", "2"
COHORT_LABELS = {SUSPECTED: "Suspected sJIA", ESTABLISHED: "Established sJIA"}
BASELINE = "baseline_arm_1"


class IdentifierRequested(ValueError):
    pass


def number(text: str | None) -> float | None:
    """A stored value as a number; None when blank or not a number (an import error such as '4O')."""
    try:
        value = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return value


@dataclass
class RecordData:
    """The requested values of one record: {(event, instrument, instance): {field: raw value}}."""

    record_id: str
    site: str
    forms: dict[tuple[str, str, int], dict[str, str]] = field(default_factory=dict)

    def get(self, event: str, instrument: str, name: str, instance: int = 1) -> str:
        return self.forms.get((event, instrument, instance), {}).get(name, "")

    @property
    def cohort(self) -> str:
        return self.get(BASELINE, "enrollment", "cohort")


def values(
    scope: Scope,
    design: Design,
    wanted: dict[str, list[str]],
    *,
    record_ids: list[str] | None = None,
) -> list[RecordData]:
    """{instrument: [fields]} of every record in the scope (site-scoped), identifiers refused."""
    identifiers = {f.name for f in design.field_map.values() if f.identifier}
    asked = {name for names in wanted.values() for name in names}
    if asked & identifiers:
        raise IdentifierRequested(f"reports do not read identifier fields: {sorted(asked & identifiers)}")
    # An instrument the membership may not read stays out of the report (its values count as missing).
    wanted = {instrument: names for instrument, names in wanted.items() if scope.can_read_form(instrument)}
    records = scope.records()
    if record_ids is not None:
        records = records.filter(record_id__in=record_ids)
    by_record: dict[str, RecordData] = {}
    for record_id, site_code in records.values_list("record_id", "site__code"):
        by_record[record_id] = RecordData(record_id, site_code)
    rows = FormInstance.objects.filter(record__in=records, instrument__in=list(wanted)).values_list(
        "record__record_id", "event", "instrument", "instance", "data"
    )
    for record_id, event, instrument, instance, data in rows.iterator(chunk_size=2000):
        keep = wanted[instrument]
        by_record[record_id].forms[(event, instrument, instance)] = {
            k: v for k, v in data.items() if k in keep or k.split("___")[0] in keep
        }
    return sorted(by_record.values(), key=lambda r: r.record_id)


def group_by_cohort(records: list[RecordData]) -> dict[str, list[RecordData]]:
    groups: dict[str, list[RecordData]] = defaultdict(list)
    for record in records:
        if record.cohort in COHORT_LABELS:
            groups[record.cohort].append(record)
    return {code: groups.get(code, []) for code in COHORT_LABELS}
