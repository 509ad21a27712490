"""Bad input thrown at the API by hypothesis: malformed data dictionaries, record imports and API parameters.

Every call must be answered with an error in the client's format that says what is wrong and where (the row of
the dictionary, the record, field and value of an import), never a 500, and nothing half-applied: a SHA-256 over
the ordered records, form rows, design versions, audit rows and id counters is the same before and after.

Each bad payload is a valid one with one defect planted somewhere, so everything around the defect would have
been accepted on its own: a refusal proves the whole call was rolled back, not just the bad part skipped.
"""

from __future__ import annotations

import csv
import io
import json
import string
from urllib.parse import urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.api.services.tokens import token_create
from registry.services.design import design_of
from registry.services.entry import form_save
from registry.services.records import record_create
from tests.registry.designs import API_HEADER, CLASSIC_ROWS, import_classic
from tests.registry.factories import build_world
from tests.reliability.web import data_checksum

CODE = "fuzz"
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
GENERIC_500 = "The server encountered an error"


@pytest.fixture
def api(db, settings):
    """Tokens of the data manager (design rights) and of site A's coordinator, and a caller of POST /api/."""
    settings.API_RATE_LIMIT_BURST = 0  # hundreds of calls in one test: the rate limit is tested elsewhere
    world = build_world(project=import_classic(CODE))
    for _ in range(2):  # existing data, so that a half-applied import would show as a changed form
        record = record_create(scope=world.scope("coord_a"), site=world.site_a)
        form_save(scope=world.scope("coord_a"), record=record, event="event_1_arm_1", instrument="demographics",
                  values={"age": "9", "consent": "0", "weight": "30"})  # fmt: skip
    tokens = {who: token_create(user=world.users[who], project=world.project) for who in ("dm", "coord_a")}
    client = Client()

    def call(who: str, params: dict[str, str], *, urlencoded: bool = True):
        body = {"token": tokens[who], **params}
        if urlencoded:  # PyCap's and REDCapR's way, parsed by registry/api/params.py itself
            return client.post("/api/", urlencode(body), content_type="application/x-www-form-urlencoded")
        return client.post("/api/", body)  # multipart, parsed by Django

    call.world = world  # type: ignore[attr-defined]
    return call


def error_of(response) -> str:
    """The error message of a refused call, in the format it was asked in (json here)."""
    assert response.status_code != 500, response.content[:500]
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:500])
    message = json.loads(response.content)["error"]
    assert message.strip() and GENERIC_500 not in message
    return message


# -- malformed data dictionaries -------------------------------------------------------------------------------

ROWS = [next(csv.reader([row])) for row in CLASSIC_ROWS]
COLUMNS = API_HEADER.split(",")
NAME, FORM, TYPE, CHOICES, BRANCHING = (COLUMNS.index(c) for c in (
    "field_name", "form_name", "field_type", "select_choices_or_calculations", "branching_logic"))  # fmt: skip
CALC_ROW = next(i for i, row in enumerate(ROWS) if row[TYPE] == "calc")
LAST_DEMOGRAPHICS = max(i for i, row in enumerate(ROWS) if row[FORM] == "demographics")
RADIO_ROW = next(i for i, row in enumerate(ROWS) if row[TYPE] == "radio")
word = st.text(alphabet=string.ascii_lowercase, min_size=3, max_size=12)


@st.composite
def broken_dictionary(draw) -> tuple[str, set[int]]:
    """The classic dictionary with one defect; returns the CSV and the file rows (header = 1) it may be reported at."""
    rows = [list(r) for r in ROWS]
    # (An unknown validation type is not a defect: it becomes a placeholder custom type, with a warning.)
    kind = draw(st.sampled_from(["type", "name", "duplicate", "branching", "calc", "choices", "form"]))
    i = draw(st.integers(1, len(rows) - 1))
    where = {i + 2}
    if kind == "type":
        rows[i][TYPE] = draw(word.filter(lambda w: w not in {"text", "notes", "calc", "radio", "dropdown", "checkbox",
                                                             "yesno", "truefalse", "file", "slider", "descriptive",
                                                             "sql"}))  # fmt: skip
    elif kind == "name":
        # ("Age" or "two words" are not defects: they are read as "age", "two_words", with a warning.)
        rows[i][NAME] = draw(st.sampled_from(["1st", "a-b", "é_field", "x" * 101, "a.b"]))
    elif kind == "duplicate":
        j = draw(st.integers(1, len(rows) - 1).filter(lambda j: j != i))
        rows[j][NAME] = rows[i][NAME]
        where = {i + 2, j + 2}
    elif kind == "branching":
        rows[i][BRANCHING] = draw(st.sampled_from(["[no_such_field] = '1'", "[age] = = 1", "[age] >", "(([age]"]))
    elif kind == "calc":
        i = CALC_ROW
        rows[i][CHOICES] = draw(st.sampled_from(["round([weight]/", "[no_such_field] * 2", "", "1 +* 2"]))
        where = {i + 2}
    elif kind == "choices":
        i = RADIO_ROW
        rows[i][CHOICES] = draw(st.sampled_from(["1, Yes | 1, No", "a b, Yes | 0, No"]))  # (no choices: a warning)
        where = {i + 2}
    else:  # a blank form name, or a form split in two (reported where the form comes back)
        rows[i][FORM] = draw(st.sampled_from(["", "labs" if i < LAST_DEMOGRAPHICS else ""]))
        where = {i + 2, i + 3}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue(), where


@PROPERTY
@given(broken=broken_dictionary(), urlencoded=st.booleans())
def test_a_malformed_dictionary_is_refused_naming_its_row_and_changes_nothing(api, broken, urlencoded):
    dictionary, rows = broken
    before = data_checksum()
    answer = api("dm", {"content": "metadata", "format": "csv", "returnFormat": "json", "data": dictionary},
                 urlencoded=urlencoded)  # fmt: skip
    message = error_of(answer)
    assert any(f"row {n}" in message for n in rows), message
    assert data_checksum() == before
    assert design_of(api.world.project).version_number == 1


@PROPERTY
@given(data=st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_any_text_as_a_dictionary_is_refused_cleanly(api, data):
    before = data_checksum()
    error_of(api("dm", {"content": "metadata", "format": "csv", "returnFormat": "json", "data": data}))
    assert data_checksum() == before


# -- malformed record imports ----------------------------------------------------------------------------------

has_letter = st.text(alphabet=string.ascii_letters + string.digits + " .,;-_/", min_size=1, max_size=20).filter(
    lambda s: any(c.isalpha() for c in s.strip())
)
BAD_CELLS = {  # column -> values it must refuse (raw mode, no missing-data codes in this design)
    "age": has_letter,
    "weight": has_letter,
    "consent": has_letter | st.sampled_from(["2", "7", "-1"]),
    "symptoms___2": st.sampled_from(["2", "yes", "-1", "11"]),
    "crp": st.sampled_from(["301", "999", "-5"]),  # @FORCE-MINMAX: its limits are hard
    "consent_date": st.sampled_from(["2020-13-01", "2020-02-30", "yesterday", "01/02/2020"]),
    "demographics_complete": st.sampled_from(["3", "9", "done"]),
    "no_such_field": st.sampled_from(["1", "x"]),
}


@st.composite
def import_with_one_bad_cell(draw) -> tuple[list[dict[str, str]], str, str, str]:
    """Valid rows (updates of the two existing records, new records) with one bad cell in one of them."""
    names = ["AAA-0001", "AAA-0002", *draw(st.lists(st.sampled_from(["N-1", "N-2", "N-3", "N-4"]), max_size=3,
                                                    unique=True))]  # fmt: skip
    rows = [{"record_id": name, "age": str(draw(st.integers(0, 120))), "weight": str(draw(st.integers(1, 150))),
             "consent": draw(st.sampled_from(["0", "1", ""])), "crp": str(draw(st.integers(0, 300)))}
            for name in draw(st.permutations(names))]  # fmt: skip
    column = draw(st.sampled_from(sorted(BAD_CELLS)))
    value = draw(BAD_CELLS[column])
    target = draw(st.integers(0, len(rows) - 1))
    rows[target][column] = value
    return rows, rows[target]["record_id"], column, value


@PROPERTY
@given(bad=import_with_one_bad_cell(), fmt=st.sampled_from(["json", "csv"]))
def test_an_import_with_one_bad_value_is_refused_naming_it_and_nothing_is_applied(api, bad, fmt):
    rows, record, column, value = bad
    if fmt == "json":
        data = json.dumps(rows)
    else:
        header = sorted({k for row in rows for k in row})
        out = io.StringIO()
        writer = csv.DictWriter(out, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        data = out.getvalue()
    before = data_checksum()
    message = error_of(api("coord_a", {"content": "record", "format": fmt, "returnFormat": "json", "data": data,
                                       "overwriteBehavior": "normal"}))  # fmt: skip
    assert f'field "{column}"' in message, message  # what and where: the field ...
    if column != "no_such_field":  # ... and, for a value, the record and the value (a bad column has no record)
        assert f'record "{record}"' in message and f'value "{value.strip()}"' in message, message
    assert data_checksum() == before  # the good rows around the bad one were not applied either


@PROPERTY
@given(data=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                         lambda children: st.lists(children, max_size=4)
                         | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=12)
       .map(json.dumps) | st.text(max_size=200))  # fmt: skip
def test_any_json_or_text_as_records_never_answers_500_nor_changes_data(api, data):
    before = data_checksum()
    answer = api("coord_a", {"content": "record", "format": "json", "returnFormat": "json", "data": data})
    if answer.status_code == 200:  # only an empty import is accepted: no rows, nothing changed but its audit row
        assert json.loads(answer.content) == {"count": 0}
    else:
        error_of(answer)
        assert data_checksum() == before


# -- malformed API parameters ----------------------------------------------------------------------------------

CONTENTS = ["record", "metadata", "project", "instrument", "event", "arm", "formEventMapping", "exportFieldNames",
            "file", "log", "report", "dag", "user", "userDagMapping", "generateNextRecordName", "version",
            "repeatingFormsEvents"]  # fmt: skip
junk = st.text(max_size=30)
PARAMS = {
    "content": st.sampled_from(CONTENTS) | junk,
    "action": st.sampled_from(["export", "import", "delete", ""]) | junk,
    "format": st.sampled_from(["json", "csv", "xml", "odm"]) | junk,
    "type": st.sampled_from(["flat", "eav"]) | junk,
    "records": junk,
    "fields": junk,
    "forms": junk,
    "events": junk,
    "rawOrLabel": junk,
    "dateRangeBegin": st.sampled_from(["2020-01-01 00:00:00", "2020-13-01", "now"]) | junk,
    "filterLogic": st.sampled_from(["[age] >", "[no_such] = 1", "[age] > 1"]) | junk,
    "record": junk,
    "field": junk,
    "event": junk,
    "report_id": junk,
    "arms": junk,
    "exportFiles": junk,
}


@PROPERTY
@given(params=st.fixed_dictionaries({"returnFormat": st.just("json")}, optional=PARAMS), urlencoded=st.booleans(),
       who=st.sampled_from(["dm", "coord_a"]))  # fmt: skip
def test_any_api_parameters_are_answered_without_500_and_change_no_data(api, params, urlencoded, who):
    data_queries = data_checksum(audit=False)
    before = data_checksum()
    answer = api(who, {**params, "data": ""} if params.get("action") == "import" else params, urlencoded=urlencoded)
    assert answer.status_code != 500, answer.content[:500]
    if answer.status_code >= 400:
        error_of(answer)  # a message in the asked format, never the generic failure
        assert data_checksum() == before  # a refused call is not even audited
    assert data_checksum(audit=False) == data_queries  # no parameter alone changes clinical data or the design
