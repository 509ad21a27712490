"""Writers of the release data files: flat CSV, tidy CSVs, SPSS, Stata, SAS and R scripts, CDISC ODM.

Every writer takes the streamed rows of `flat.iter_record_rows`, already passed through the
profile (`profiles.RowTransformer`), and writes one or more files into the release folder. Each
returns {file name: row count}.

CSV quoting is minimal (RFC 4180: a cell is quoted when it holds a comma, a quote, CR or LF), which
is exactly what PostgreSQL's COPY writes, so the SQL and Python engines give the same bytes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from registry.exports.flat import (
    KIND_CHECKBOX,
    KIND_COMPLETE,
    KIND_DAG,
    KIND_EVENT,
    KIND_RECORD_ID,
    KIND_REPEAT_INSTANCE,
    KIND_REPEAT_INSTRUMENT,
    KIND_VALUE,
    STATUS_LABELS,
)
from registry.exports.profiles import ColumnPlan

RFC4180_QUOTE_CHARS = ',"\r\n'  # a release's CSV quotes a cell holding one of these
_NEEDS_QUOTES = re.compile("[" + RFC4180_QUOTE_CHARS + "]")
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
NUMERIC_TYPES = ("integer", "number")


def csv_cell(value) -> str:
    text = "" if value is None else str(value)
    if _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_line(values: Iterable) -> str:
    return ",".join(csv_cell(v) for v in values) + "\n"


def write_csv_rows(path: Path, header: list[str], rows: Iterable[list]) -> int:
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(csv_line(header))
        for row in rows:
            out.write(csv_line(row))
            count += 1
    return count


# -- value helpers -------------------------------------------------------------------------------


def choice_codes(plan: ColumnPlan, design) -> list[tuple[str, str]]:
    """(code, label) pairs a column's values come from, [] for free values."""
    c = plan.column
    if c.kind == KIND_COMPLETE:
        return list(STATUS_LABELS.items())
    if c.kind == KIND_CHECKBOX:
        return [("0", "Unchecked"), ("1", "Checked")]
    if c.kind == KIND_VALUE and plan.data_type == "code":
        return [(code, label) for code, label in design.field_map[c.field].choice_list()]
    return []


def numeric_codes(pairs: list[tuple[str, str]]) -> bool:
    return bool(pairs) and all(re.fullmatch(r"-?\d+", code) for code, _ in pairs)


def stat_type(plan: ColumnPlan, design) -> str:
    """How a column is typed in SPSS/Stata/R/SAS: number, date, datetime or string."""
    if plan.column.kind in (KIND_CHECKBOX, KIND_COMPLETE):
        return "number"
    if plan.column.kind == KIND_REPEAT_INSTANCE:
        return "number"
    if plan.data_type in NUMERIC_TYPES:
        return "number"
    if plan.data_type == "code":
        return "number" if numeric_codes(choice_codes(plan, design)) else "string"
    if plan.data_type == "date":
        return "date"
    if plan.data_type in ("datetime", "datetime_seconds"):
        return "datetime"
    return "string"


def to_number(text) -> float | None:
    text = str(text)
    try:
        value = float(text.replace(",", ".")) if text.count(",") == 1 and "." not in text else float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_date(text: str):
    for fmt, is_date in (("%Y-%m-%d", True), ("%Y-%m-%d %H:%M", False), ("%Y-%m-%d %H:%M:%S", False)):
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed.date() if is_date else parsed
    return None


# -- tidy: one table per instrument ---------------------------------------------------------------

TIDY_KEYS = ["record", "site", "event", "instance"]
MISSING_SUFFIX = "__missing"


def tidy_columns(plans: list[ColumnPlan], design) -> dict[str, list[ColumnPlan]]:
    """The exported value/checkbox/complete plans of each instrument, in project order."""
    by_form: dict[str, list[ColumnPlan]] = {}
    for p in plans:
        if p.exported and p.column.kind in (KIND_VALUE, KIND_CHECKBOX, KIND_COMPLETE):
            by_form.setdefault(p.column.instrument, []).append(p)
    return by_form


def tidy_layout(form_plans: list[ColumnPlan], design) -> list[tuple[str, object]]:
    """The cells of an instrument's table after the keys: ('value', plan) or ('missing', field name).

    With missing-data codes defined, each field's values are followed by `<field>__missing`.
    """
    layout: list[tuple[str, object]] = []
    for i, p in enumerate(form_plans):
        layout.append(("value", p))
        if design.missing_codes and p.column.kind in (KIND_VALUE, KIND_CHECKBOX):
            following = form_plans[i + 1].column.field if i + 1 < len(form_plans) else None
            if following != p.column.field:
                layout.append(("missing", p.column.field))
    return layout


def layout_header(layout) -> list[str]:
    return [*TIDY_KEYS, *(p.column.name if kind == "value" else f"{p}{MISSING_SUFFIX}" for kind, p in layout)]


def write_tidy(folder: Path, stem: str, plans, design, rows: Iterator, transformer, labels: bool) -> dict[str, int]:
    """One CSV per instrument: a row per stored form instance, keyed by record, site, event and instance.

    Values are raw codes (labels with `labels`); missing-data codes sit in `<field>__missing`, never
    in the value column, so numeric and date columns stay typed.
    """
    by_form = tidy_columns(plans, design)
    record_plan = next((p for p in plans if p.column.kind == KIND_RECORD_ID and p.exported), None)
    files, counts, layouts = {}, {}, {}
    try:
        for form, form_plans in by_form.items():
            name = f"{stem}_{form}.csv"
            layouts[form] = tidy_layout(form_plans, design)
            files[form] = open(folder / name, "w", encoding="utf-8", newline="")  # noqa: SIM115
            files[form].write(csv_line(layout_header(layouts[form])))
            counts[form] = 0
        for info, shape, row in rows:
            out = transformer.apply(info, row)
            record = out.get(record_plan.column.name, "") if record_plan else transformer.hashed_id(info)
            for form, form_row in shape.present.items():
                if form not in by_form:
                    continue
                missing = form_row.missing
                cells = [record, info.site_name if labels else info.site_code, shape.event, form_row.instance]
                for kind, item in layouts[form]:
                    if kind == "missing":
                        cells.append(missing.get(item, ""))
                        continue
                    value = out.get(item.column.name, "")
                    if item.column.kind == KIND_VALUE and value != "" and value == missing.get(item.column.field):
                        value = ""
                    cells.append(value)
                files[form].write(csv_line(cells))
                counts[form] += 1
    finally:
        for handle in files.values():
            handle.close()
    return {f"{stem}_{form}.csv": n for form, n in counts.items()}


# -- SPSS and Stata -------------------------------------------------------------------------------

SPSS_MISSING_BASE = -99990.0  # missing code k (1-based, project order) is written as -99990 - k


def stata_names(names: list[str]) -> dict[str, str]:
    """Stata allows 32 characters: longer names are cut and numbered, and the map is in the codebook."""
    result, used = {}, set()
    for name in names:
        candidate = name[:32]
        n = 1
        while candidate in used:
            suffix = f"_{n}"
            candidate = name[: 32 - len(suffix)] + suffix
            n += 1
        used.add(candidate)
        result[name] = candidate
    return result


def collect_table(plans: list[ColumnPlan], rows: Iterator, transformer) -> tuple[list[str], dict[str, list[str]], int]:
    """The exported columns as lists of strings (SPSS and Stata writers need whole columns)."""
    names = [p.column.name for p in plans if p.exported]
    columns: dict[str, list[str]] = {name: [] for name in names}
    count = 0
    for info, _shape, row in rows:
        out = transformer.apply(info, row)
        for name in names:
            columns[name].append(out.get(name, ""))
        count += 1
    return names, columns, count


def write_stat_file(
    path: Path, kind: str, plans: list[ColumnPlan], design, rows: Iterator, transformer, file_label: str
) -> dict[str, int]:
    """An SPSS .sav or Stata .dta with variable labels, value labels and typed columns.

    Missing-data codes: SPSS numeric columns get them as user-missing values (-99991, -99992, ...
    in project order, labelled); Stata numeric columns as extended missing values .a, .b, ...
    Dates are dates, datetimes datetimes, numbers numbers; text stays text.
    """
    import pandas as pd
    import pyreadstat

    exported = [p for p in plans if p.exported]
    names, raw, count = collect_table(plans, rows, transformer)
    codes = list(design.missing_codes)
    spss_missing = {code: SPSS_MISSING_BASE - (i + 1) for i, code in enumerate(codes)}
    stata_missing = {code: chr(ord("a") + i) for i, code in enumerate(codes[:26])}
    frame: dict[str, object] = {}
    labels: dict[str, dict] = {}
    user_missing: dict[str, list] = {}
    formats: dict[str, str] = {}
    column_labels: dict[str, str] = {}
    for p in exported:
        name = p.column.name
        values = raw[name]
        stype = stat_type(p, design)
        column_labels[name] = strip_html(p.column.label)[:250] if p.column.label else name
        pairs = choice_codes(p, design)
        if stype == "number":
            used_missing: set[str] = set()
            if kind == "spss":
                data = []
                for v in values:
                    if v in spss_missing:
                        used_missing.add(v)
                        data.append(spss_missing[v])
                    else:
                        number = to_number(v) if v != "" else None
                        data.append(float("nan") if number is None else number)
                frame[name] = pd.Series(data, dtype="float64")
                value_labels = {float(code): label for code, label in pairs}
                if used_missing or (p.column.kind == KIND_VALUE and codes):
                    for code in codes:
                        value_labels[spss_missing[code]] = design.missing_codes[code]
                    user_missing[name] = [{"lo": SPSS_MISSING_BASE - len(codes), "hi": SPSS_MISSING_BASE - 1}]
            else:
                data = []
                for v in values:
                    if v in stata_missing:
                        used_missing.add(v)
                        data.append(stata_missing[v])
                    else:
                        number = to_number(v) if v != "" else None
                        data.append(float("nan") if number is None else number)
                if used_missing:
                    frame[name] = pd.Series(data, dtype="object")
                    user_missing[name] = sorted(stata_missing[c] for c in used_missing)
                else:
                    frame[name] = pd.Series(data, dtype="float64")
                value_labels = {int(code): label for code, label in pairs} if numeric_codes(pairs) else {}
            if value_labels:
                labels[name] = value_labels
            if p.data_type == "integer" or p.column.kind in (KIND_CHECKBOX, KIND_COMPLETE) or pairs:
                formats[name] = "F8.0" if kind == "spss" else "%9.0g"
        elif stype in ("date", "datetime"):
            # Numbers in the package's own date encoding, with a date format: typed without guessing.
            frame[name] = pd.Series([stat_date_number(v, kind) for v in values], dtype="float64")
            formats[name] = {
                ("spss", "date"): "DATE11",
                ("spss", "datetime"): "DATETIME20",
                ("stata", "date"): "%td",
                ("stata", "datetime"): "%tc",
            }[(kind, stype)]
        else:
            frame[name] = pd.Series([v for v in values], dtype="object")
            if kind == "spss" and pairs:
                labels[name] = {code: label for code, label in pairs}
    del raw
    df = pd.DataFrame(frame, columns=names)
    if kind == "spss":
        pyreadstat.write_sav(
            df,
            str(path),
            file_label=file_label[:64],
            column_labels=column_labels,
            variable_value_labels=labels,
            missing_ranges=user_missing,
            variable_format=formats,
        )
    else:
        rename = stata_names(names)
        df = df.rename(columns=rename)
        pyreadstat.write_dta(
            df,
            str(path),
            file_label=file_label[:80],
            column_labels={rename[k]: v[:80] for k, v in column_labels.items()},
            variable_value_labels={rename[k]: v for k, v in labels.items()},
            missing_user_values={rename[k]: v for k, v in user_missing.items()},
            variable_format={rename[k]: v for k, v in formats.items()},
            version=15,
        )
    return {path.name: count}


SPSS_EPOCH = datetime(1582, 10, 14)
STATA_EPOCH = datetime(1960, 1, 1)


def stat_date_number(text: str, kind: str) -> float:
    """SPSS: seconds since 1582-10-14; Stata: days (dates) or milliseconds (datetimes) since 1960-01-01."""
    parsed = parse_date(text) if text else None
    if parsed is None:
        return float("nan")
    moment = parsed if isinstance(parsed, datetime) else datetime.combine(parsed, datetime.min.time())
    if kind == "spss":
        return (moment - SPSS_EPOCH).total_seconds()
    if isinstance(parsed, datetime):
        return (moment - STATA_EPOCH).total_seconds() * 1000
    return float((moment - STATA_EPOCH).days)


_TAG = re.compile(r"<[^>]+>")


def strip_html(text: str) -> str:
    return re.sub(r"\s+", " ", _TAG.sub("", text or "")).strip()


# -- SAS and R scripts ------------------------------------------------------------------------------


def _r_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("\r", " ") + '"'


def r_script(csv_name: str, plans: list[ColumnPlan], design) -> str:
    """Base R: read the CSV with the right column classes, then dates, factors and labels."""
    exported = [p for p in plans if p.exported]
    classes = []
    for p in exported:
        stype = stat_type(p, design)
        classes.append(f"{_r_str(p.column.name)} = {_r_str('numeric' if stype == 'number' else 'character')}")
    lines = [
        "# Reads the release's flat CSV and applies types, value labels and variable labels (base R only).",
        '# Run it from the folder that holds the CSV: source("read_data.R")',
        f'data <- read.csv({_r_str(csv_name)}, na.strings = "", check.names = FALSE, stringsAsFactors = FALSE,',
        "                 colClasses = c(" + ",\n                                ".join(classes) + "))",
    ]
    codes = list(design.missing_codes)
    if codes:
        lines.append(
            "# Missing-data codes (" + ", ".join(codes) + ") in numeric columns were read as NA; "
            "read the CSV as text to see them."
        )
    for p in exported:
        name = _r_str(p.column.name)
        stype = stat_type(p, design)
        if stype == "date":
            lines.append(f'data[[{name}]] <- as.Date(data[[{name}]], format = "%Y-%m-%d")')
        elif stype == "datetime":
            lines.append(f'data[[{name}]] <- as.POSIXct(data[[{name}]], tz = "UTC")')
        pairs = choice_codes(p, design)
        if pairs:
            levels = ", ".join(_r_str(code) if stype == "string" else code for code, _ in pairs)
            level_labels = ", ".join(_r_str(label) for _, label in pairs)
            lines.append(
                f"data[[{_r_str(p.column.name + '.factor')}]] <- factor(data[[{name}]], "
                f"levels = c({levels}), labels = c({level_labels}))"
            )
        label = strip_html(p.column.label)
        if label:
            lines.append(f'attr(data[[{name}]], "label") <- {_r_str(label)}')
    lines.append("data")
    return "\n".join(lines) + "\n"


def _sas_str(text: str) -> str:
    return "'" + text.replace("'", "''").replace("\n", " ").replace("\r", " ") + "'"


def sas_names(names: list[str]) -> dict[str, str]:
    return stata_names(names)  # SAS names are also at most 32 characters


def sas_script(csv_name: str, plans: list[ColumnPlan], design) -> str:
    """A SAS program: PROC FORMAT for value labels, a DATA step reading the CSV with informats, labels."""
    exported = [p for p in plans if p.exported]
    rename = sas_names([p.column.name for p in exported])
    lines = [
        "/* Reads the release's flat CSV and applies types, value labels and variable labels. */",
        "/* Set the path of the folder that holds the CSV: */",
        "%let release = .;",
        "",
        "proc format;",
    ]
    fmt_names: dict[str, str] = {}
    for i, p in enumerate(exported):
        pairs = choice_codes(p, design)
        if not pairs:
            continue
        stype = stat_type(p, design)
        fmt = f"{'$' if stype == 'string' else ''}f{i}_"
        fmt_names[p.column.name] = fmt
        values = " ".join(
            f"{_sas_str(code) if stype == 'string' else code}={_sas_str(label[:200])}" for code, label in pairs
        )
        lines.append(f"  value {fmt} {values};")
    lines += [
        "run;",
        "",
        "data release;",
        f"  infile \"&release/{csv_name}\" dsd firstobs=2 lrecl=1000000 encoding='utf-8' truncover;",
    ]
    informats = []
    for p in exported:
        stype = stat_type(p, design)
        name = rename[p.column.name]
        if stype == "number":
            informats.append(f"  informat {name} best32.;")
        elif stype == "date":
            informats.append(f"  informat {name} yymmdd10.; format {name} yymmdd10.;")
        elif stype == "datetime":
            informats.append(f"  informat {name} anydtdtm19.; format {name} datetime19.;")
        else:
            informats.append(f"  informat {name} $500.;")
    lines += informats
    lines.append(
        "  input "
        + " ".join(rename[p.column.name] + (" $" if stat_type(p, design) == "string" else "") for p in exported)
        + ";"
    )
    for p in exported:
        label = strip_html(p.column.label)
        if label:
            lines.append(f"  label {rename[p.column.name]} = {_sas_str(label[:256])};")
        if p.column.name in fmt_names:
            lines.append(f"  format {rename[p.column.name]} {fmt_names[p.column.name]}.;")
    lines += ["run;", ""]
    return "\n".join(lines)


# -- CDISC ODM 1.3.2 ------------------------------------------------------------------------------

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
ODM_TYPES = {
    "integer": "integer",
    "number": "float",
    "date": "date",
    "datetime": "datetime",
    "datetime_seconds": "datetime",
    "time": "time",
    "code": "text",
    "checkbox": "boolean",
    "string": "text",
}


def xml_text(value) -> str:
    return _XML_BAD.sub("", str(value))


def attr(value) -> str:
    return quoteattr(xml_text(value))


def odm_value(value: str, data_type: str) -> str:
    """ODM dates are ISO 8601: a datetime has a 'T' and seconds."""
    if data_type in ("datetime", "datetime_seconds") and value and " " in value:
        day, time = value.split(" ", 1)
        return f"{day}T{time}:00" if time.count(":") == 1 else f"{day}T{time}"
    return value


def odm_item_type(plan: ColumnPlan) -> str:
    if plan.column.kind == KIND_COMPLETE:
        return "integer"
    return ODM_TYPES.get(plan.data_type, "text")


def write_odm(
    path: Path,
    plans: list[ColumnPlan],
    design,
    project,
    rows: Iterator,
    transformer,
    *,
    file_oid: str,
    description: str,
) -> dict[str, int]:
    """Study metadata (events, forms, item groups, items, code lists) and the clinical data, streamed."""
    exported = [p for p in plans if p.exported]
    by_form: dict[str, list[ColumnPlan]] = {}
    for p in exported:
        if p.column.kind in (KIND_VALUE, KIND_CHECKBOX, KIND_COMPLETE):
            by_form.setdefault(p.column.instrument, []).append(p)
    record_plan = next((p for p in exported if p.column.kind == KIND_RECORD_ID), None)
    version_oid = f"Metadata.{project.code}_v{design.version_number}"
    study_oid = f"Project.{project.code}"
    event_names = [e for e, _ in design.events] or ["event_1_arm_1"]
    event_labels = dict(design.events)
    count = 0
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    with open(path, "w", encoding="utf-8") as out:
        w = out.write
        w('<?xml version="1.0" encoding="UTF-8"?>\n')
        w(
            f'<ODM xmlns="{ODM_NS}" ODMVersion="1.3.2" FileType="Snapshot" Granularity="All" '
            f'FileOID={attr(file_oid)} CreationDateTime={attr(now)} SourceSystem="sojia-registry" '
            f"Description={attr(description)}>\n"
        )
        w(
            f"<Study OID={attr(study_oid)}>\n<GlobalVariables><StudyName>{escape(xml_text(project.title))}</StudyName>"
            f"<StudyDescription>{escape(xml_text(project.title))}</StudyDescription>"
            f"<ProtocolName>{escape(project.code)}</ProtocolName></GlobalVariables>\n"
        )
        w(f"<MetaDataVersion OID={attr(version_oid)} Name={attr(f'{project.code} version {design.version_number}')}>\n")
        w("<Protocol>\n")
        for i, event in enumerate(event_names, 1):
            w(f'  <StudyEventRef StudyEventOID={attr("Event." + event)} OrderNumber="{i}" Mandatory="No"/>\n')
        w("</Protocol>\n")
        for event in event_names:
            repeating = "Yes" if event in design.repeating_events else "No"
            w(
                f"<StudyEventDef OID={attr('Event.' + event)} Name={attr(event_labels.get(event, event))} "
                f'Repeating="{repeating}" Type="Common">\n'
            )
            for j, form in enumerate(f for f in design.instruments_for_event(event) if f in by_form):
                w(f'  <FormRef FormOID={attr("Form." + form)} OrderNumber="{j + 1}" Mandatory="No"/>\n')
            w("</StudyEventDef>\n")
        for form in by_form:
            repeating = "Yes" if any(i == form for _e, i in design.repeating_instruments) else "No"
            w(
                f"<FormDef OID={attr('Form.' + form)} Name={attr(design.instrument_label(form))} "
                f'Repeating="{repeating}">\n  <ItemGroupRef ItemGroupOID={attr(form + ".items")} Mandatory="No"/>\n'
                "</FormDef>\n"
            )
        for form, form_plans in by_form.items():
            w(f'<ItemGroupDef OID={attr(form + ".items")} Name={attr(form)} Repeating="No">\n')
            for k, p in enumerate(form_plans, 1):
                w(f'  <ItemRef ItemOID={attr(p.column.name)} OrderNumber="{k}" Mandatory="No"/>\n')
            w("</ItemGroupDef>\n")
        code_lists = []
        for form_plans in by_form.values():
            for p in form_plans:
                pairs = choice_codes(p, design) if p.column.kind != KIND_CHECKBOX else []
                w(
                    f'<ItemDef OID={attr(p.column.name)} Name={attr(p.column.name)} DataType="{odm_item_type(p)}">'
                    f"<Question><TranslatedText>{escape(xml_text(strip_html(p.column.label)))}</TranslatedText>"
                    "</Question>"
                )
                if pairs:
                    w(f"<CodeListRef CodeListOID={attr(p.column.name + '.choices')}/>")
                    code_lists.append((p, pairs))
                w("</ItemDef>\n")
        for p, pairs in code_lists:
            data_type = "integer" if numeric_codes(pairs) else "text"
            w(f'<CodeList OID={attr(p.column.name + ".choices")} Name={attr(p.column.name)} DataType="{data_type}">\n')
            for code, label in pairs:
                w(
                    f"  <CodeListItem CodedValue={attr(code)}><Decode><TranslatedText>"
                    f"{escape(xml_text(strip_html(label)))}</TranslatedText></Decode></CodeListItem>\n"
                )
            w("</CodeList>\n")
        w("</MetaDataVersion>\n</Study>\n")
        w(f"<ClinicalData StudyOID={attr(study_oid)} MetaDataVersionOID={attr(version_oid)}>\n")
        current = None
        for info, shape, row in rows:
            out_row = transformer.apply(info, row)
            subject = out_row.get(record_plan.column.name, "") if record_plan else transformer.hashed_id(info)
            if subject != current:
                if current is not None:
                    w("</SubjectData>\n")
                w(f"<SubjectData SubjectKey={attr(subject)}>\n")
                current = subject
            event_repeat = (
                f' StudyEventRepeatKey="{shape.repeat_instance}"'
                if shape.event in design.repeating_events and shape.repeat_instance
                else ""
            )
            w(f"  <StudyEventData StudyEventOID={attr('Event.' + shape.event)}{event_repeat}>\n")
            for form, form_row in shape.present.items():
                if form not in by_form:
                    continue
                form_repeat = f' FormRepeatKey="{form_row.instance}"' if shape.repeat_instrument else ""
                w(
                    f"    <FormData FormOID={attr('Form.' + form)}{form_repeat}>"
                    f"<ItemGroupData ItemGroupOID={attr(form + '.items')}>"
                )
                for p in by_form[form]:
                    value = out_row.get(p.column.name, "")
                    if value == "":
                        continue
                    w(f"<ItemData ItemOID={attr(p.column.name)} Value={attr(odm_value(str(value), p.data_type))}/>")
                w("</ItemGroupData></FormData>\n")
            w("  </StudyEventData>\n")
            count += 1
        if current is not None:
            w("</SubjectData>\n")
        w("</ClinicalData>\n</ODM>\n")
    return {path.name: count}


def pseudo_value(plan: ColumnPlan, info, shape, labels: bool):
    kind = plan.column.kind
    if kind == KIND_EVENT:
        return shape.event
    if kind == KIND_REPEAT_INSTRUMENT:
        return shape.repeat_instrument
    if kind == KIND_REPEAT_INSTANCE:
        return shape.repeat_instance if shape.repeat_instance is not None else ""
    if kind == KIND_DAG:
        return info.site_name if labels else info.site_code
    return ""


def iso_date(value: date | datetime) -> str:
    return value.isoformat()
