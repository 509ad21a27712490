"""The form page reads a post without building the Django form (forms/submission.py): it must agree with the form.

For every SoJIA instrument, hypothesis posts what a browser could send — the offered choices, other codes, text
with spaces, datetime-local values, missing-data codes, junk statuses and row versions, null characters — and
checks: whenever the Django form would accept the post, `read_submission` gives exactly what `values_from_form`
gives; whenever the form would refuse it, `read_submission` gives None (the page then shows the form's errors).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.http import QueryDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forms.design.services import import_study
from forms.models import Project
from forms.rendering import build_instrument_form, field_choices, missing_name
from forms.submission import read_submission, submission_from_form
from registry.services.design import design_of

SOJIA = Path(__file__).resolve().parents[2] / "fixtures" / "sojia"
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def design(db):
    assert import_study(directory=SOJIA, project_code="subm").ok
    design = design_of(Project.objects.get(code="subm"))
    assert design.missing_codes  # the study offers missing-data codes: their selectors are part of the post
    return design


def _value_for(draw, field) -> list[str]:
    """What a browser (or a tampered post) might send for one field: zero, one or several values."""
    offered = [code for code, _ in field_choices(field)]
    if field.field_type == "checkbox":
        pool = st.sampled_from([*offered, "zz", ""]) if offered else st.just("zz")
        return draw(st.lists(pool, max_size=3))
    if field.field_type in ("radio", "yesno", "truefalse", "dropdown"):
        choice = st.sampled_from(offered) if offered else st.just("")
        return draw(st.one_of(st.just([]), choice.map(lambda c: [c]), st.sampled_from([[""], ["zz"], [" 1"]])))
    text = st.one_of(
        st.sampled_from(["", "12", " 7.5 ", "2021-03-04", "2021-03-04T10:30", "abc", "a\x00b"]),
        st.text(max_size=8),
    )
    return draw(st.one_of(st.just([]), text.map(lambda t: [t])))


@st.composite
def posts(draw, fields, missing_codes):
    post = QueryDict(mutable=True)
    for field in fields:
        if field.field_type == "descriptive":
            continue
        for value in _value_for(draw, field):
            post.appendlist(field.name, value)
        if draw(st.integers(0, 9)) == 0:
            post[missing_name(field.name)] = draw(st.sampled_from([*missing_codes, "", "XX"]))
    post["status"] = draw(st.sampled_from(["0", "1", "2", "2", "2", "", "3", "x", " 2"]))
    post["row_version"] = draw(st.sampled_from(["", "0", "4", "4", "-1", "x", "1.5"]))
    post["reason"] = draw(st.sampled_from(["", "  typo ", "a\x00"]))
    return post


@pytest.mark.django_db
@PROPERTY
@given(data=st.data())
def test_read_submission_agrees_with_the_django_form(design, data):
    instrument = data.draw(st.sampled_from([name for name, _ in design.instruments]))
    fields = design.fields(instrument)
    codes = list(design.missing_codes)
    post = data.draw(posts(fields, codes))

    form = build_instrument_form(fields, data=post, missing_codes=list(design.missing_codes.items()), ask_reason=True)
    if design.record_id_field in form.fields:
        form.fields[design.record_id_field].disabled = True  # as the page does: the id is never typed
    fast = read_submission(fields, post, missing_codes=design.missing_codes, locked={design.record_id_field})

    if form.is_valid():
        assert fast == submission_from_form(form)
    else:
        assert fast is None, form.errors
