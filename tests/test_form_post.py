"""registry/form_post.py reads a url-encoded body exactly as Django's QueryDict does, and leaves the rest to Django."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.http import QueryDict
from django.test import RequestFactory
from hypothesis import given
from hypothesis import strategies as st

from registry.form_post import FormPostMiddleware, parse_form

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


@given(st.lists(st.tuples(text, text), max_size=30))
def test_the_same_querydict_as_django(pairs):
    body = urlencode(pairs).encode()
    assert list(parse_form(body).lists()) == list(QueryDict(body, encoding="utf-8").lists())


@given(st.binary(max_size=60))
def test_the_same_querydict_for_any_bytes(body):
    assert list(parse_form(body).lists()) == list(QueryDict(body, encoding="utf-8").lists())


def test_the_post_is_immutable_and_utf8():
    post = parse_form(b"a=1&a=2&b=%C3%A9")
    assert post.getlist("a") == ["1", "2"] and post["b"] == "é" and post.encoding == "utf-8"
    with pytest.raises(AttributeError):
        post["c"] = "3"
    assert post.copy()["a"] == "2"  # copies are mutable QueryDicts, as Django's


@pytest.mark.parametrize(
    ("content_type", "taken"),
    [("application/x-www-form-urlencoded", True), ("multipart/form-data; boundary=x", False), ("text/plain", False)],
)
def test_only_url_encoded_posts_are_taken(content_type, taken):
    request = RequestFactory().post("/", data=b"a=1", content_type=content_type)
    FormPostMiddleware(lambda r: None)(request)
    assert hasattr(request, "_post") is taken


def test_too_many_fields_are_left_to_django(client, db):
    body = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    request = RequestFactory().post("/", data=body, content_type="application/x-www-form-urlencoded")
    FormPostMiddleware(lambda r: None)(request)
    assert not hasattr(request, "_post")
    # Django raises TooManyFieldsSent where POST is first read (CSRF): a 400, as without the middleware.
    assert client.post("/accounts/login/", body, content_type="application/x-www-form-urlencoded").status_code == 400


pair_text = st.text(alphabet=st.sampled_from("ab=&+%;é 2F3D"), max_size=40)


@given(pair_text)
def test_the_same_pairs_as_parse_qsl_for_awkward_text(body):
    """Empty pairs, pairs without "=", "+", stray and valid percent escapes, "=" in values."""
    assert list(parse_form(body.encode()).lists()) == list(QueryDict(body.encode(), encoding="utf-8").lists())
