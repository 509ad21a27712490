"""No patient identifier in any log line, URL or error page.

The demo flow runs with every logger at DEBUG and SQL logging forced on (django.db.backends would
log each statement with its values): the demo load, web logins, the dashboard, a record, a form
view and a save that changes an identifier, a 404 on a guessed record, a failed login and a server
error in a view. Then every captured line is searched for every identifier value stored in the
database (each field flagged identifier, of every patient) as a whole token.
"""

from __future__ import annotations

import io
import logging
import re
import subprocess

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from registry.models import FormInstance, Record
from registry.security.log_redaction import RedactSqlFilter
from registry.services.demo import demo_password
from registry.services.design import design_of
from tests.conftest import PYTHON, ROOT, subprocess_env
from tests.security.conftest import post_login

PROJECT = "sojia"
FORMATTER = logging.Formatter("%(levelname)s %(name)s %(message)s")
NEW_LAST_NAME = "Testquillfeather"


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = FORMATTER.format(record)
        extras = [str(getattr(record, name)) for name in ("sql", "params") if hasattr(record, name)]
        self.lines.append("\n".join([text, *extras]))


@pytest.fixture
def all_logs():
    """Every logger at DEBUG, SQL statements logged, for the duration of the test."""
    capture = Capture()
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    levels = {lg: lg.level for lg in loggers}
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(capture)
    connection.force_debug_cursor = True
    yield capture
    connection.force_debug_cursor = False
    logging.getLogger().removeHandler(capture)
    for lg, level in levels.items():
        lg.setLevel(level)


def identifier_values(project) -> set[str]:
    design = design_of(project)
    fields = [f.name for f in design.field_map.values() if f.identifier]
    values = set()
    for data in FormInstance.objects.filter(record__project=project).values_list("data", flat=True):
        values.update(str(data[f]).strip() for f in fields if str(data.get(f, "")).strip())
    return values


def found(text: str, values: set[str]) -> set[str]:
    # Traceback line numbers are code positions, not data: a 4-digit postcode could equal one by chance.
    text = re.sub(r", line \d+", ", line N", text)
    return {v for v in values if re.search(rf"(?<![A-Za-z0-9]){re.escape(v)}(?![A-Za-z0-9])", text)}


def saved_form_post(client: Client, url: str, changes: dict[str, str]) -> dict:
    """The POST a user sends after changing some fields of the form shown at url."""
    form = client.get(url).context["form"]
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value not in (None, "", []):
            data[name] = [str(v) for v in value] if isinstance(value, list | tuple) else str(value)
    return {**data, **changes, "reason": "corrected spelling", "save_stay": "1"}


@pytest.mark.django_db
def test_the_demo_flow_logs_no_identifier(all_logs, monkeypatch):
    call_command("load_demo", "--records", "9", "--quiet-logins", stdout=io.StringIO())
    dm = Client()
    post_login(dm, "datamanager", demo_password("datamanager"))
    coordinator = Client()
    post_login(coordinator, "coordinator_a", demo_password("coordinator_a"))
    post_login(Client(), "monitor", "not-the-password")

    record = Record.objects.filter(project__code=PROJECT, site__code="site_01").order_by("record_id").first()
    urls = [f"/projects/{PROJECT}/records/", f"/projects/{PROJECT}/records/{record.record_id}/"]
    form_url = f"/projects/{PROJECT}/records/{record.record_id}/baseline_arm_1/enrollment/1/"
    for url in [*urls, form_url]:
        assert dm.get(url).status_code == 200
        assert coordinator.get(url).status_code == 200
    response = coordinator.post(form_url, saved_form_post(coordinator, form_url, {"name_last": NEW_LAST_NAME}))
    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    assert FormInstance.objects.get(record=record, instrument="enrollment").data["name_last"] == NEW_LAST_NAME

    guessed = dm.get(f"/projects/{PROJECT}/records/NCH-9999/")
    assert guessed.status_code == 404

    def broken(*args, **kwargs):
        raise RuntimeError("the view broke")

    monkeypatch.setattr("registry.views.entry.render", broken)
    failing = Client(raise_request_exception=False)
    failing.cookies = dm.cookies
    server_error = failing.get(urls[1])
    assert server_error.status_code == 500

    project = record.project
    identifiers = identifier_values(project)
    assert NEW_LAST_NAME in identifiers and len(identifiers) > 30
    logged = "\n".join(all_logs.lines)
    # The capture really saw the flow: SQL statements, the 404, the 500 with its traceback.
    assert "SELECT" in logged and "Not Found: /projects/sojia/records/NCH-9999/" in logged
    assert "RuntimeError: the view broke" in logged
    leaks = [line[:600] for line in all_logs.lines if found(line, identifiers)]
    assert leaks == [], "\n\n".join(leaks[:5])
    # Error pages name nothing either.
    for page in (guessed, server_error):
        assert found(page.content.decode(), identifiers | {record.record_id, "NCH-9999"}) == set()


@pytest.mark.django_db
def test_urls_carry_record_ids_never_identifiers():
    call_command("load_demo", "--records", "6", "--quiet-logins", stdout=io.StringIO())
    client = Client()
    post_login(client, "datamanager", demo_password("datamanager"))
    project = Record.objects.filter(project__code=PROJECT).first().project
    identifiers = identifier_values(project)
    hrefs = set()
    for record in Record.objects.filter(project=project):
        for url in (f"/projects/{PROJECT}/records/", f"/projects/{PROJECT}/records/{record.record_id}/"):
            hrefs.update(re.findall(r'(?:href|action|src)="([^"]*)"', client.get(url).content.decode()))
        assert re.fullmatch(r"[A-Z]{3}-\d{4}", record.record_id)
    assert len(hrefs) > 20
    assert found("\n".join(hrefs), identifiers) == set()


def test_sql_log_records_lose_their_values():
    logger = logging.getLogger("django.db.backends")
    sql = "SELECT * FROM crf WHERE data->>'name_last' = 'Testworth' AND postcode = 4963 LIMIT 21"
    record = logger.makeRecord(logger.name, logging.DEBUG, __file__, 1, "(%.3f) %s; args=%s; alias=%s",
                               (0.002, sql, ("Testworth", 4963), "default"), None,
                               extra={"sql": sql, "params": ("Testworth", 4963)})  # fmt: skip
    assert RedactSqlFilter().filter(record)
    line = record.getMessage() + record.sql + str(record.params)
    assert "Testworth" not in line and "4963" not in line
    assert "data->>'?' = '?' AND postcode = ? LIMIT ?" in line


def test_production_never_logs_sql_even_at_debug_level():
    code = (
        "import logging; from django.db import connection; lg = logging.getLogger('django.db.backends');"
        "tl = logging.getLogger('django.template');"
        "print(lg.isEnabledFor(logging.DEBUG), [type(f).__name__ for f in lg.filters], connection.queries_logged,"
        " tl.isEnabledFor(logging.DEBUG), [type(f).__name__ for f in tl.filters])"
    )
    env = subprocess_env(DJANGO_ENV="production", SECRET_KEY="k3y-" + "x1y2z3" * 10, LOG_LEVEL="DEBUG")
    result = subprocess.run([PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False ['RedactSqlFilter'] False False ['DropTracebackFilter']"
