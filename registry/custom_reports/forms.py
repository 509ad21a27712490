"""The report definition form: choices come from the project's design."""

from __future__ import annotations

from django import forms

from registry.custom_reports.services import SORT_LIMIT, ReportSpec
from registry.models import Role
from registry.services.design import Design

DEFAULT_ROLES = [Role.DATA_MANAGER, Role.MONITOR, Role.STATISTICIAN]


class ReportForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    instruments = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, help_text="Every field of these instruments."
    )
    fields = forms.MultipleChoiceField(
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 12}),
        help_text="Single fields as well. Choose neither fields nor instruments for every column.",
    )
    events = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple, help_text="None: all.")
    filter_logic = forms.CharField(
        required=False,
        label="Filter",
        widget=forms.TextInput(attrs={"class": "font-monospace", "placeholder": "[age] >= 18"}),
        help_text="Logic language: a row is shown when this is true.",
    )
    roles = forms.MultipleChoiceField(
        choices=Role.choices, initial=DEFAULT_ROLES, widget=forms.CheckboxSelectMultiple, required=False,
        label="Roles that may open it",
    )  # fmt: skip

    def __init__(self, *args, design: Design, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["instruments"].choices = list(design.instruments)
        field_choices = [(f.name, f"{f.name} — {f.label[:60]}") for f in design.field_map.values() if f.has_data] + [
            (f"{name}_complete", f"{name}_complete — form status") for name, _ in design.instruments
        ]
        self.fields["fields"].choices = field_choices
        if design.is_longitudinal:
            self.fields["events"].choices = list(design.events)
        else:
            del self.fields["events"]
        sortable = [("", "—")] + [(f.name, f.name) for f in design.field_map.values() if f.has_data]
        for i in range(1, SORT_LIMIT + 1):
            self.fields[f"sort_{i}"] = forms.ChoiceField(choices=sortable, required=False, label=f"Sort {i}")
            self.fields[f"desc_{i}"] = forms.BooleanField(required=False, label="descending")

    def spec(self) -> ReportSpec:
        data = self.cleaned_data
        sort = [(data[f"sort_{i}"], data[f"desc_{i}"]) for i in range(1, SORT_LIMIT + 1) if data.get(f"sort_{i}")]
        return ReportSpec(
            title=data["title"],
            description=data.get("description", ""),
            fields=data.get("fields", []),
            instruments=data.get("instruments", []),
            events=data.get("events", []),
            filter_logic=data.get("filter_logic", ""),
            sort=sort,
            roles=data.get("roles", []),
        )

    @staticmethod
    def initial_of(report) -> dict:
        initial = {
            "title": report.title,
            "description": report.description,
            "instruments": report.instruments,
            "fields": report.fields,
            "events": report.events,
            "filter_logic": report.filter_logic,
            "roles": report.roles,
        }
        for i, spec in enumerate(report.sort or [], start=1):
            initial[f"sort_{i}"], initial[f"desc_{i}"] = spec.get("field", ""), spec.get("desc", False)
        return initial
