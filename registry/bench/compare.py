"""Form saves of several checkouts side by side: which change made a save cheaper, and by how much.

`bench` judges one checkout against its floors. Comparing two runs of it taken minutes apart does
not work on a shared machine: its speed drifts by a third within an hour, far more than a change
worth making. Here each checkout gets its own gunicorn against the same database, and their load
phases alternate within each round (saves, then trivial requests, checkout after checkout), so
every checkout meets the same machine; the figures are medians over the rounds of each checkout's
throughput paired with the first checkout's in the same round. The records saved rotate between
the checkouts from round to round, so no checkout keeps the cheaper records.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection
from django.urls import reverse

from registry.bench.clients import logged_in_session, run_clients
from registry.bench.cpu import CpuSample
from registry.bench.form_save import (
    FormSaveError,
    SavingBrowser,
    client_forms,
    largest_instrument,
    measured,
    open_form,
    toggled_field,
    trivial_step,
)
from registry.bench.registry_setup import BENCH_PASSWORD, BENCH_USERNAME
from registry.bench.server import Server, running_server
from registry.models import FormInstance
from registry.services.design import design_of


@dataclass
class Checkout:
    root: Path
    server: Server
    pings: list[Callable[[], None]]
    browsers: list[list[SavingBrowser]]  # one set of browsers per record set
    save_rps: list[float] = field(default_factory=list)
    trivial_rps: list[float] = field(default_factory=list)
    save_cpu: list[CpuSample] = field(default_factory=list)
    trivial_cpu: list[CpuSample] = field(default_factory=list)


def resync(browsers: list[SavingBrowser], forms: list[FormInstance], toggle_name: str) -> None:
    """Each browser takes its form's stored row_version and value: another checkout saved it last."""
    stored = {f.pk: f for f in FormInstance.objects.filter(pk__in=[f.pk for f in forms])}
    for browser, form in zip(browsers, forms, strict=True):
        browser.resync(stored[form.pk].row_version, stored[form.pk].data.get(toggle_name, ""))
    connection.close()  # no connection held open across the servers' load


def compare_form_saves(
    project, roots: list[Path], *, rounds: int = 10, clients: int = 16, saves_each: int = 10
) -> dict:
    design = design_of(project)
    instrument = largest_instrument(design)
    toggle = toggled_field(design, instrument)
    record_sets = [client_forms(project, instrument, clients * len(roots))[k :: len(roots)] for k in range(len(roots))]
    with ExitStack() as stack:
        checkouts = []
        for root in roots:
            server = stack.enter_context(running_server(root=root))
            sessions = [logged_in_session(server.base_url, BENCH_USERNAME, BENCH_PASSWORD) for _ in range(clients)]
            browsers = [
                [open_form(s, server.base_url, project, f, toggle) for s, f in zip(sessions, forms, strict=True)]
                for forms in record_sets
            ]
            pings = [trivial_step(s, server.base_url + reverse("bench-ping")) for s in sessions]
            checkouts.append(Checkout(root, server, pings, browsers))
        for checkout in checkouts:  # warm every worker of every server
            run_clients(checkout.pings, requests_each=2)
            for forms, browsers in zip(record_sets, checkout.browsers, strict=True):
                resync(browsers, forms, toggle[0])
                _check(run_clients([b.save for b in browsers], requests_each=2))
        for round_ in range(rounds):
            # Every other round runs the checkouts in reverse: none always follows the same one.
            for position, checkout in enumerate(checkouts if round_ % 2 == 0 else checkouts[::-1]):
                which = (round_ + position) % len(roots)
                resync(checkout.browsers[which], record_sets[which], toggle[0])
                saves = _check(measured(checkout.server, [b.save for b in checkout.browsers[which]], saves_each,
                                         checkout.save_cpu))  # fmt: skip
                pings = _check(measured(checkout.server, checkout.pings, saves_each * 4, checkout.trivial_cpu))
                checkout.save_rps.append(saves.throughput_rps)
                checkout.trivial_rps.append(pings.throughput_rps)
    return _figures(checkouts, instrument, rounds)


def _check(result):
    if result.errors:
        raise FormSaveError(f"{len(result.errors)} requests failed, first: {result.errors[0]}")
    return result


def _figures(checkouts: list[Checkout], instrument: str, rounds: int) -> dict:
    first = checkouts[0]
    rows = []
    for checkout in checkouts:
        row = {
            "checkout": str(checkout.root),
            "form_save_vs_trivial_ratio": _median_of_ratios(checkout.trivial_rps, checkout.save_rps),
            "form_save_rps": _median(checkout.save_rps),
            "trivial_rps": _median(checkout.trivial_rps),
            # Paired with the first checkout round by round: > 1 means faster than it.
            "form_save_rps_vs_first": _median_of_ratios(checkout.save_rps, first.save_rps),
            "trivial_rps_vs_first": _median_of_ratios(checkout.trivial_rps, first.trivial_rps),
        }
        for prefix, samples in (("form_save", checkout.save_cpu), ("trivial", checkout.trivial_cpu)):
            for kind in ("web", "database", "clients"):
                row[f"{prefix}_cpu_ms_{kind}"] = _median([getattr(c, kind) for c in samples]) if samples else None
        rows.append(row)
    return {"instrument": instrument, "rounds": rounds, "checkouts": rows}


def _median_of_ratios(tops: list[float], bottoms: list[float]) -> float:
    return _median([top / bottom for top, bottom in zip(tops, bottoms, strict=True)])


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)
