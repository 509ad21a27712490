"""Saving the largest instrument through the real form page, under concurrent clients (design §9).

Each simulated browser logs in, opens its own record's largest instrument, and then saves it again
and again the way a user does: the form's own fields and CSRF token, the `row_version` it was
given, a reason for change (the forms are complete), and one changed value per save so every save
writes data and audit rows. Clients own different records, so no save waits on a conflict; they
do share the project's audit chain, as real users do. Only the POST is timed (the redirect that a
browser follows afterwards is a page view, not the save).

The same sessions then load a trivial authenticated page on the same server, side by side, so the
ratio of the two throughputs survives the noise of a shared machine; and post the same bodies to the
save floor (`registry/bench/views.py: save_floor`), which writes them as one JSONB row and nothing
else, so a second ratio says what the registry's own work (lock, checks, logic, audit, rules) costs
over the least a save can do on this stack.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import urlencode

from django.urls import reverse

from forms.models import FieldType
from registry.bench.clients import (
    LoadResult,
    form_fields,
    logged_in_session,
    post_without_redirect_machinery,
    run_clients,
)
from registry.bench.cpu import CpuSample, sample
from registry.bench.registry_setup import BENCH_PASSWORD, BENCH_USERNAME
from registry.bench.server import Server
from registry.models import FormInstance
from registry.services.design import Design, design_of

# Validation type -> decimals the value must be written with ("2" is not a valid number_2dp).
NUMERIC_VALIDATIONS = {"integer": 0, "number": 0, "number_1dp": 1, "number_2dp": 2}


class FormSaveError(Exception):
    pass


def largest_instrument(design: Design) -> str:
    return max(design.instruments, key=lambda item: len(design.fields(item[0])))[0]


def toggled_field(design: Design, instrument: str) -> tuple[str, tuple[str, str]]:
    """A value every save can change: a numeric field shown whatever the answers, and two valid values."""
    for f in design.fields(instrument):
        if (
            f.field_type == FieldType.TEXT
            and f.validation in NUMERIC_VALIDATIONS
            and not f.branching_logic
            and not f.identifier
        ):
            low = int(float(f.validation_min)) if f.validation_min else 0
            decimals = NUMERIC_VALIDATIONS[f.validation]
            return f.name, (f"{low + 1:.{decimals}f}", f"{low + 2:.{decimals}f}")
    raise FormSaveError(f"{instrument} has no always-visible numeric field to change on each save")


def client_forms(project, instrument: str, clients: int) -> list[FormInstance]:
    """One saved, unlocked form of the instrument in each of `clients` different records."""
    chosen: dict[int, FormInstance] = {}
    candidates = (
        FormInstance.objects.filter(
            record__project=project, instrument=instrument, instance=1, locked=False, record__locked=False
        )
        .select_related("record")
        .order_by("record_id", "event")
    )
    for form in candidates.iterator(chunk_size=200):
        chosen.setdefault(form.record_id, form)
        if len(chosen) == clients:
            break
    if len(chosen) < clients:
        raise FormSaveError(f"{len(chosen)} records have an unlocked {instrument}; {clients} clients need one each")
    return list(chosen.values())


FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class SavingBrowser:
    """One user editing one form: keeps the row_version the server gave it, as the page does.

    The clients share the server's two cores, so they do as little as a client can: the fields that
    never change between saves are url-encoded once (encoding ~160 pairs per save cost the client a
    third of a millisecond that the server under test then lacked).
    """

    session: object
    url: str
    fields: list[tuple[str, str]]
    toggle: tuple[str, tuple[str, str]]
    row_version: int
    saves: int = 0
    _fixed: str = field(default="", init=False, repr=False)
    _value: str = field(default="", init=False, repr=False)

    def __post_init__(self) -> None:
        name = self.toggle[0]
        self._fixed = urlencode([(k, v) for k, v in self.fields if k not in (name, "row_version", "reason")])
        self._value = dict(self.fields).get(name, "")

    def resync(self, row_version: int, value: str) -> None:
        """Take the stored form's row_version and toggled value: another client (or server) saved it last."""
        self.row_version, self._value = row_version, value

    def _next_value(self) -> str:
        _, (first, second) = self.toggle
        # Always a different value from the stored one: an unchanged save writes nothing.
        return second if self._value == first else first

    def _body(self, value: str) -> str:
        changing = urlencode([(self.toggle[0], value), ("row_version", str(self.row_version)),
                              ("reason", "benchmark edit"), ("save_stay", "")])  # fmt: skip
        return f"{self._fixed}&{changing}" if self._fixed else changing

    def save(self) -> None:
        value = self._next_value()
        # The browser would show the "Saved" messages on the next page; dropping them keeps the
        # session from growing with messages nobody reads.
        answer = post_without_redirect_machinery(self.session, self.url, self._body(value), FORM_HEADERS,
                                                 dropped=("messages",))  # fmt: skip
        if answer.status_code != 302:
            raise FormSaveError(f"save answered {answer.status_code}")
        self.row_version += 1
        self._value = value
        self.saves += 1

    def floor_save(self, floor_url: str) -> None:
        """The same post, body for body, to the save floor's page (`registry/bench/views.py: save_floor`)."""
        answer = post_without_redirect_machinery(self.session, floor_url, self._body(self._next_value()),
                                                 FORM_HEADERS)  # fmt: skip
        if answer.status_code != 302:
            raise FormSaveError(f"the save floor answered {answer.status_code}")


def open_form(session, base_url: str, project, form: FormInstance, toggle) -> SavingBrowser:
    path = reverse(
        "form-entry",
        kwargs={
            "code": project.code,
            "record_id": form.record.record_id,
            "event": form.event,
            "instrument": form.instrument,
            "instance": form.instance,
        },
    )
    page = session.get(base_url + path, allow_redirects=False, timeout=60)
    if page.status_code != 200:
        raise FormSaveError(f"the form page answered {page.status_code} (location {page.headers.get('Location')})")
    fields = form_fields(page.text, "crf-form")
    version = dict(fields).get("row_version", "")
    return SavingBrowser(
        session=session,
        url=base_url + path,
        fields=fields,
        toggle=toggle,
        row_version=int(version) if version.isdigit() else form.row_version,
    )


def trivial_step(session, url: str) -> Callable[[], None]:
    def step() -> None:
        answer = session.get(url, allow_redirects=False, timeout=60)
        if answer.status_code != 200:
            raise FormSaveError(f"the trivial page answered {answer.status_code}")

    return step


def bench_form_save(project, server: Server, *, clients: int = 16, saves_each: int = 10, repeats: int = 3) -> dict:
    design = design_of(project)
    instrument = largest_instrument(design)
    toggle = toggled_field(design, instrument)
    forms = client_forms(project, instrument, clients)
    sessions = [logged_in_session(server.base_url, BENCH_USERNAME, BENCH_PASSWORD) for _ in forms]
    browsers = [open_form(s, server.base_url, project, f, toggle) for s, f in zip(sessions, forms, strict=True)]
    ping_url = server.base_url + reverse("bench-ping")
    trivial = [trivial_step(s, ping_url) for s in sessions]
    floors = [partial(b.floor_save, server.base_url + reverse("bench-save-floor", args=[slot]))
              for slot, b in enumerate(browsers)]  # fmt: skip

    # Warm every gunicorn worker (design cache, imports, connections) before anything is timed.
    run_clients(trivial, requests_each=2)
    run_clients(floors, requests_each=2)
    warm = run_clients([b.save for b in browsers], requests_each=2)
    if warm.errors:
        raise FormSaveError(f"saves failed while warming up: {warm.errors[0]}")

    saves: list[LoadResult] = []
    pings: list[LoadResult] = []
    bare: list[LoadResult] = []
    save_cpu: list[CpuSample] = []
    ping_cpu: list[CpuSample] = []
    bare_cpu: list[CpuSample] = []
    for _ in range(repeats):
        pings.append(measured(server, trivial, saves_each * 4, ping_cpu))  # cheaper requests: run longer
        saves.append(measured(server, [b.save for b in browsers], saves_each, save_cpu))
        bare.append(measured(server, floors, saves_each * 2, bare_cpu))
    errors = [e for r in saves + pings + bare for e in r.errors]
    if errors:
        raise FormSaveError(f"{len(errors)} requests failed, first: {errors[0]}")
    fields = len(design.fields(instrument))
    return {
        "form_save_instrument": f"{instrument} ({fields} fields)",
        "form_save_clients": clients,
        "form_save_requests": sum(len(r.latencies_ms) for r in saves),
        "form_save_p50_ms": round(statistics.median(r.percentile(50) for r in saves), 1),
        "form_save_p95_ms": round(statistics.median(r.percentile(95) for r in saves), 1),
        "form_save_rps": round(statistics.median(r.throughput_rps for r in saves), 1),
        "trivial_p50_ms": round(statistics.median(r.percentile(50) for r in pings), 1),
        "trivial_rps": round(statistics.median(r.throughput_rps for r in pings), 1),
        # Times the floor, like the other *_vs_* keys: a save costs this many trivial requests
        # (target <= 2, i.e. saves reach at least half the trivial page's throughput).
        "form_save_vs_trivial_ratio": _throughput_ratio(pings, saves),
        # The save against the least a save can do on this stack (the same post written as one JSONB row,
        # unchecked and unaudited, `save_floor`): what the registry's own work costs, apart from Django's.
        "save_floor_p50_ms": round(statistics.median(r.percentile(50) for r in bare), 1),
        "save_floor_rps": round(statistics.median(r.throughput_rps for r in bare), 1),
        "save_floor_vs_trivial_ratio": _throughput_ratio(pings, bare),
        "form_save_vs_save_floor_ratio": _throughput_ratio(bare, saves),
        **_cpu_figures(save_cpu, ping_cpu, bare_cpu),
    }


def _throughput_ratio(faster: list[LoadResult], slower: list[LoadResult]) -> float:
    """Median over the repeats of one phase's throughput over another's (phases of a repeat run back to back)."""
    return round(statistics.median(f.throughput_rps / s.throughput_rps for f, s in zip(faster, slower, strict=True)), 2)


def measured(server: Server, steps: list[Callable[[], None]], each: int, cpu: list[CpuSample]) -> LoadResult:
    """One load phase; the machine time each of its requests took, by process kind, goes into `cpu`."""
    before = sample(server.pid) if server.pid else None
    result = run_clients(steps, requests_each=each)
    after = sample(server.pid) if before is not None else None
    if before is not None and after is not None:
        cpu.append(after.per_request_ms(before, len(result.latencies_ms)))
    return result


def _cpu_figures(save_cpu: list[CpuSample], ping_cpu: list[CpuSample], floor_cpu: list[CpuSample]) -> dict:
    """Medians of each process kind's CPU per request (ms), and the server side's ratio (web + database)."""
    if not save_cpu or not ping_cpu:
        return {}
    figures = {}
    for prefix, samples in (("form_save", save_cpu), ("trivial", ping_cpu), ("save_floor", floor_cpu)):
        for kind in ("web", "database", "clients"):
            figures[f"{prefix}_cpu_ms_{kind}"] = round(statistics.median(getattr(c, kind) for c in samples), 2)
    server = [(s.web + s.database) / max(p.web + p.database, 1e-9) for s, p in zip(save_cpu, ping_cpu, strict=True)]
    figures["form_save_vs_trivial_server_cpu_ratio"] = round(statistics.median(server), 2)
    return figures
