"""Building a Django form for one instrument from its metadata, laid out with crispy-forms.

Every REDCap field becomes a form field named like the REDCap variable (checkboxes become a
multiple choice whose values are the codes). Field-level checks live in forms.values and run
in the save service, so the web form, the API and imports judge a value the same way; the
form only shapes input (HTML5 date inputs already give ISO dates).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import nh3
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Div, Layout, LayoutObject
from crispy_forms.layout import Field as CrispyField
from django import forms as djforms
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from forms.models import checkbox_column
from forms.values import DATE_TYPES, validation_type

MISSING_PREFIX = "__missing__"


def safe_html(text: str) -> str:
    """Dictionary labels and headers may hold HTML (REDCap allows it): keep the markup, drop scripts."""
    return mark_safe(nh3.clean(text or ""))  # noqa: S308 - sanitised by ammonia just above


YESNO = [("1", "Yes"), ("0", "No")]
TRUEFALSE = [("1", "True"), ("0", "False")]


def missing_name(field_name: str) -> str:
    return f"{MISSING_PREFIX}{field_name}"


def field_choices(field) -> list[tuple[str, str]]:
    if field.field_type == "yesno":
        return YESNO
    if field.field_type == "truefalse":
        return TRUEFALSE
    hidden = hidden_choice_codes(field)
    return [(code, label) for code, label in field.choices if code not in hidden]


def hidden_choice_codes(field) -> set[str]:
    codes: set[str] = set()
    for tag in field.action_tags or []:
        if tag.get("tag", "").upper() == "@HIDECHOICE":
            arg = (tag.get("argument") or "").strip().strip("'\"")
            codes.update(code.strip() for code in arg.split(","))
    return codes


def has_tag(field, name: str) -> bool:
    name = name.upper()
    return any((tag.get("tag") or "").upper() == name for tag in field.action_tags or []) or (
        name in (field.annotation or "").upper().split()
    )


def tag_argument(field, name: str) -> str | None:
    for tag in field.action_tags or []:
        if (tag.get("tag") or "").upper() == name.upper():
            return tag.get("argument")
    return None


def _text_widget(field) -> djforms.Widget:
    attrs: dict[str, str] = {}
    vtype = validation_type(field.validation) if field.validation else None
    charlimit = tag_argument(field, "@CHARLIMIT")
    if charlimit and charlimit.strip("'\" ").isdigit():
        attrs["maxlength"] = charlimit.strip("'\" ")
    if vtype is None:
        return djforms.TextInput(attrs=attrs)
    if vtype.data_type == "date":
        return djforms.DateInput(attrs={**attrs, "type": "date"}, format="%Y-%m-%d")
    if vtype.data_type in ("datetime", "datetime_seconds"):
        step = "1" if vtype.data_type == "datetime_seconds" else "60"
        return djforms.TextInput(attrs={**attrs, "type": "datetime-local", "step": step})
    if vtype.data_type == "integer":
        return djforms.NumberInput(attrs={**attrs, "step": "1"})
    if vtype.data_type == "number":
        decimals = next((c for c in vtype.name if c.isdigit()), None)
        return djforms.NumberInput(
            attrs={**attrs, "step": f"{10 ** -int(decimals):.{decimals}f}" if decimals else "any"}
        )
    if vtype.data_type == "email":
        return djforms.EmailInput(attrs=attrs)
    if vtype.data_type == "time":
        return djforms.TextInput(attrs={**attrs, "placeholder": "HH:MM", "inputmode": "numeric"})
    return djforms.TextInput(attrs=attrs)


def form_field_for(field, *, read_only: bool) -> djforms.Field | None:
    """The Django form field of one REDCap field; None for descriptive text."""
    ftype = field.field_type
    common = {"required": False, "label": safe_html(field.label or field.name), "help_text": field.field_note}
    if ftype == "descriptive":
        return None
    if ftype in ("radio", "yesno", "truefalse"):
        result = djforms.ChoiceField(choices=field_choices(field), widget=djforms.RadioSelect, **common)
    elif ftype in ("dropdown", "sql"):
        result = djforms.ChoiceField(choices=[("", ""), *field_choices(field)], **common)
    elif ftype == "checkbox":
        result = djforms.MultipleChoiceField(
            choices=field_choices(field), widget=djforms.CheckboxSelectMultiple, **common
        )
    elif ftype == "notes":
        result = djforms.CharField(widget=djforms.Textarea(attrs={"rows": 3}), **common)
    elif ftype == "slider":
        low = field.validation_min or "0"
        high = field.validation_max or "100"
        result = djforms.CharField(
            widget=djforms.NumberInput(attrs={"type": "range", "min": low, "max": high, "step": "1"}), **common
        )
    elif ftype == "calc":
        result = djforms.CharField(widget=djforms.TextInput(attrs={"readonly": "readonly", "tabindex": "-1"}), **common)
    elif ftype == "file":
        result = djforms.CharField(widget=djforms.TextInput(attrs={"placeholder": "file name"}), **common)
    else:
        result = djforms.CharField(widget=_text_widget(field), **common)
    if read_only or is_read_only_field(field):
        result.disabled = True
    return result


def is_read_only_field(field) -> bool:
    """Fields never typed into, even on an editable form: @READONLY, and text computed by @CALCTEXT."""
    return has_tag(field, "@READONLY") or (field.field_type == "text" and has_tag(field, "@CALCTEXT"))


class RawHTML(LayoutObject):
    """Already-safe HTML placed as is (crispy's HTML() would run it as a template: labels must not be)."""

    def __init__(self, html: str):
        self.html = html

    def render(self, form, context, template_pack=None, **kwargs):
        return self.html


class BareWidget(LayoutObject):
    """Just the bound widget of a form field, without label and wrapper (for the tools beside a field)."""

    def __init__(self, name: str):
        self.name = name

    def render(self, form, context, template_pack=None, **kwargs):
        return form[self.name].as_widget()


class MatrixGroup(LayoutObject):
    """A matrix group: radio or checkbox rows sharing one choice list, drawn as one table."""

    template = "crf/entry/matrix.html"

    def __init__(self, name: str, fields: Sequence, header: str):
        self.name = name
        self.fields = list(fields)
        self.header = header

    def render(self, form, context, template_pack=None, **kwargs):
        rows = []
        choices = field_choices(self.fields[0])
        for field in self.fields:
            bound = form[field.name]
            chosen = bound.value()
            chosen_set = set(chosen) if isinstance(chosen, list | tuple) else {chosen}
            rows.append({"field": field, "bound": bound, "chosen": chosen_set,
                         "input_type": "checkbox" if field.field_type == "checkbox" else "radio"})  # fmt: skip
        return render_to_string(
            self.template,
            {"group": self.name, "header": self.header, "choices": choices, "rows": rows, "form": form},
        )


def _wrapper(field, content) -> Div:
    return Div(
        content,
        css_class="crf-field mb-3" + (" crf-required" if field.required else ""),
        **{"data-field": field.name, "data-type": field.field_type},
    )


def missing_code_choices(missing_codes: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [("", "—")] + [(code, f"{code}: {label}") for code, label in missing_codes]


class InstrumentForm(djforms.Form):
    """A data-entry form for one instrument. Build it with `build_instrument_form`."""

    crf_fields: list
    status = djforms.TypedChoiceField(
        choices=[(0, "Incomplete"), (1, "Unverified"), (2, "Complete")], coerce=int, initial=0, label="Form status"
    )
    reason = djforms.CharField(required=False, label="Reason for change", widget=djforms.TextInput)
    row_version = djforms.IntegerField(required=False, widget=djforms.HiddenInput)


def build_instrument_form(
    fields: Sequence,
    *,
    data: dict | None = None,
    initial: dict | None = None,
    missing_codes: Sequence[tuple[str, str]] = (),
    read_only: bool = False,
    ask_reason: bool = False,
    history_links: dict[str, str] | None = None,
) -> InstrumentForm:
    """An InstrumentForm with one form field per REDCap field and a crispy layout."""
    form = InstrumentForm(data=data, initial=initial)
    form.crf_fields = list(fields)
    missing_choices = missing_code_choices(missing_codes)
    layout: list = []
    i = 0
    while i < len(form.crf_fields):
        field = form.crf_fields[i]
        if field.section_header and field.section_header.strip():
            header = '<h2 class="h5 crf-section mt-4 border-bottom pb-1" data-section-of="{}">{}</h2>'
            layout.append(RawHTML(format_html(header, field.name, safe_html(field.section_header))))
        form_field = form_field_for(field, read_only=read_only)
        if form_field is None:
            text = format_html('<div class="crf-descriptive">{}</div>', safe_html(field.label))
            layout.append(_wrapper(field, RawHTML(text)))
            i += 1
            continue
        if field.matrix_group:
            group = []  # matrix rows are contiguous (checked at import): take the run
            for f in form.crf_fields[i:]:
                if f.matrix_group != field.matrix_group:
                    break
                group.append(f)
            for member in group:
                form.fields[member.name] = form_field_for(member, read_only=read_only)
                if missing_codes:
                    form.fields[missing_name(member.name)] = djforms.ChoiceField(
                        choices=missing_choices, required=False, label="Missing", disabled=read_only
                    )
            layout.append(MatrixGroup(field.matrix_group, group, field.section_header or ""))
            i += len(group)
            continue
        form.fields[field.name] = form_field
        tools: list = []
        if missing_codes and field.field_type not in ("calc", "descriptive"):
            form.fields[missing_name(field.name)] = djforms.ChoiceField(
                choices=missing_choices,
                required=False,
                label="Missing data code",
                disabled=read_only,
                widget=djforms.Select(attrs={"class": "form-select form-select-sm crf-missing",
                                             "aria-label": "Missing data code", "title": "Missing data code"}),
            )  # fmt: skip
            tools.append(BareWidget(missing_name(field.name)))
        if history_links and field.name in history_links:
            link = '<a class="crf-history small text-nowrap" href="{}" title="History of this field">history</a>'
            tools.append(RawHTML(format_html(link, history_links[field.name])))
        # REDCap's layout: label and input side by side, the missing-data code and history beside them.
        row = Div(
            Div(CrispyField(field.name), css_class="col-lg-9"),
            Div(*tools, css_class="col-lg-3 d-flex gap-2 align-items-start crf-field-tools"),
            css_class="row",
        )
        layout.append(_wrapper(field, row))
        i += 1
    form.fields["status"] = form.fields.pop("status")
    form.fields["reason"] = form.fields.pop("reason")
    form.fields["row_version"] = form.fields.pop("row_version")
    if read_only:
        form.fields["status"].disabled = True
        form.fields["reason"].disabled = True
    tail = [Div(CrispyField("status"), css_class="mt-4 crf-status")]
    if ask_reason:
        tail.append(Div(CrispyField("reason"), css_class="crf-reason"))
    tail.append("row_version")
    helper = FormHelper()
    helper.form_class = "form-horizontal"
    helper.label_class = "col-sm-5"
    helper.field_class = "col-sm-7"
    helper.form_tag = False
    helper.disable_csrf = True
    helper.layout = Layout(*layout, *tail)
    form.helper = helper
    return form


def values_from_form(form: InstrumentForm) -> tuple[dict[str, str], dict[str, str]]:
    """The submitted raw values and missing codes, as REDCap strings (checkboxes as field___code)."""
    values: dict[str, str] = {}
    missing: dict[str, str] = {}
    for field in form.crf_fields:
        name = field.name
        if name not in form.fields or form.fields[name].disabled:
            continue
        raw = form.cleaned_data.get(name)
        if field.field_type == "checkbox":
            chosen = set(raw or [])
            for code, _ in field.choices:
                values[checkbox_column(name, code)] = "1" if code in chosen else "0"
        else:
            value = (raw or "").strip() if isinstance(raw, str) else ("" if raw is None else str(raw))
            if field.field_type == "text" and field.validation:
                vtype = validation_type(field.validation)
                if vtype is not None and vtype.data_type in DATE_TYPES and "T" in value:
                    value = value.replace("T", " ")  # datetime-local gives 2026-01-02T10:30
            values[name] = value
        code = form.cleaned_data.get(missing_name(name))
        if code:
            missing[name] = code
    return values, missing


def initial_from_values(fields: Sequence, data: dict[str, str], missing: dict[str, str]) -> dict:
    initial: dict = {}
    for field in fields:
        if field.field_type == "checkbox":
            initial[field.name] = [
                code for code, _ in field.choices if data.get(checkbox_column(field.name, code)) == "1"
            ]
        else:
            value = data.get(field.name, "")
            if field.field_type == "text" and field.validation:
                vtype = validation_type(field.validation)
                if vtype is not None and vtype.data_type in ("datetime", "datetime_seconds"):
                    value = value.replace(" ", "T")
            initial[field.name] = value
        if field.name in missing:
            initial[missing_name(field.name)] = missing[field.name]
    return initial
