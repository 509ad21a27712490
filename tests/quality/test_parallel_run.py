"""The run's pass in forked processes over record ranges: same results as one process, failures and
crashes leave nothing behind; and the per-run caches of the pass give check_value's own verdicts."""

from __future__ import annotations

import os
import signal
import time
from datetime import date, datetime
from pathlib import Path

import pytest

from forms.values import check_value, parse_iso, parse_iso_strptime
from registry.access import Scope
from registry.models import Job, Role
from registry.quality import parallel
from registry.quality.engine import Selection
from registry.quality.services.runs import run_sync

COLUMNS = ("rule", "record_id", "event", "instrument", "instance", "field", "value", "value_hash", "message",
           "site_id", "excluded")  # fmt: skip


def system(project) -> Scope:
    return Scope(user=None, project=project, role=Role.DATA_MANAGER, site=None)


@pytest.fixture
def cohort(transactional_db, settings, monkeypatch):
    """The planted-error cohort, committed (the children see committed rows only; the test's flush removes it),
    with the shard threshold lowered so that its records are worth two processes."""
    from forms.models import Project
    from registry.quality.services.custom_rules import rules_import_csv
    from registry.services.demo import load_demo
    from tests.quality.conftest import RULES_CSV, planted_errors

    cohort = planted_errors()["cohort"]
    load_demo(n_records=cohort["records"], seed=cohort["seed"])
    project = Project.objects.get(code="sojia")
    rules_import_csv(scope=system(project), text=RULES_CSV.read_text(encoding="utf-8"), replace=True)
    monkeypatch.setattr(parallel, "MIN_RECORDS_PER_SHARD", 1)
    return project


def test_two_processes_store_exactly_the_single_process_discrepancies(cohort, settings):
    project = cohort
    settings.QUALITY_RUN_PROCESSES = 1
    single = run_sync(scope=system(project))
    settings.QUALITY_RUN_PROCESSES = 2
    double = run_sync(scope=system(project))

    assert (single.summary["processes"], double.summary["processes"]) == (1, 2)
    rows = [sorted(run.discrepancies.values_list(*COLUMNS)) for run in (single, double)]
    assert rows[0] == rows[1]
    assert len(rows[0]) > 100 and {row[0] for row in rows[0]} >= {"A", "E", "H"}
    assert double.summary["by_rule"] == single.summary["by_rule"]
    assert double.job.progress == 100 and double.job.status == Job.Status.SUCCEEDED


def test_shards_fork_from_a_daemonic_process_as_celerys_prefork_children_are(cohort, settings):
    """multiprocessing refuses children to daemonic processes (Celery's prefork pool); os.fork does not."""
    import multiprocessing

    from django.db import connections

    project = cohort
    settings.QUALITY_RUN_PROCESSES = 2
    context = multiprocessing.get_context("fork")
    answers = context.Queue()

    def worker() -> None:
        parallel._detach_connections()  # the test's own connection stays the test's
        try:
            with pytest.raises(AssertionError, match="daemonic"):
                context.Process(target=print).start()
            run = run_sync(scope=system(project))
            answers.put((run.summary["processes"], run.summary["found"], run.job.status))
        finally:
            connections.close_all()

    process = context.Process(target=worker, daemon=True)
    process.start()
    processes, found, status = answers.get(timeout=300)
    process.join(60)
    assert (processes, status) == (2, Job.Status.SUCCEEDED) and found > 100


def test_a_failing_shard_fails_the_run_and_keeps_no_rows(cohort, settings, monkeypatch):
    project = cohort
    settings.QUALITY_RUN_PROCESSES = 2
    from registry.quality.services import runs

    real = runs.find_discrepancies

    def second_shard_fails(**kwargs):
        if kwargs["selection"].pk_range[0] is not None:
            raise ValueError("shard broke")
        yield from real(**kwargs)

    monkeypatch.setattr(runs, "find_discrepancies", second_shard_fails)
    with pytest.raises(RuntimeError, match="shard broke"):
        run_sync(scope=system(project))
    from registry.quality.models import Discrepancy, QualityRun

    run = QualityRun.objects.filter(project=project).order_by("-pk").first()
    assert run.job.status == Job.Status.FAILED and "shard broke" in run.job.error
    assert not Discrepancy.objects.filter(run=run).exists()


def test_rule_e_from_the_shards_counts_finds_what_the_sql_statistics_find(cohort, settings):
    """A whole-project run counts rule E's numbers in its pass (one count per shard, combined by the parent)."""
    from registry.quality.engine import find_discrepancies, numeric_stats
    from registry.services.design import design_of

    project = cohort
    settings.QUALITY_RUN_PROCESSES = 2
    run = run_sync(scope=system(project), rules=["E"])
    design = design_of(project)
    sql_stats = numeric_stats(project, design, Selection())
    assert run.summary["processes"] == 2 and set(run.summary["stats"]) == set(sql_stats)
    for name, (mean, sd) in run.summary["stats"].items():
        assert mean == pytest.approx(sql_stats[name][0], rel=1e-12) and sd == pytest.approx(
            sql_stats[name][1], rel=1e-9
        )
    expected = find_discrepancies(project=project, design=design, selection=Selection(rules=["E"]), stats=sql_stats)
    stored = run.discrepancies.values_list("record_id", "event", "instance", "field", "value", "message")
    assert sorted(stored) == sorted((f.record, f.event, f.instance, f.field, f.value, f.message) for f in expected)
    assert run.summary["by_rule"]["E"] > 10


@pytest.mark.django_db(transaction=True)
def test_a_shard_failing_before_the_swap_does_not_leave_the_other_waiting():
    def work(part: Selection, report, swap) -> int:
        if part.pk_range[0] is None:
            raise ValueError("first shard broke")
        swap({"x": {"1": 1}})  # waits for a part the first shard will never send
        return 0

    started = time.monotonic()
    with pytest.raises(RuntimeError, match="first shard broke"):
        parallel.fork_all([Selection(pk_range=(None, 5)), Selection(pk_range=(5, None))], work, None, lambda parts: {})
    assert time.monotonic() - started < 30


@pytest.mark.django_db(transaction=True)
def test_shards_swap_their_parts_through_the_parent():
    answers = []

    def work(part: Selection, report, swap) -> int:
        total = swap(part.pk_range[1] or 100)
        return total + (0 if part.pk_range[0] is None else 1000)

    count = parallel.fork_all([Selection(pk_range=(None, 5)), Selection(pk_range=(5, None))], work, None,
                              lambda parts: answers.append(parts) or sum(parts))  # fmt: skip
    assert answers == [[5, 100]] and count == 105 + 1105


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.django_db(transaction=True)
def test_children_die_with_a_killed_parent(tmp_path):
    """A SIGKILLed worker must not leave shards writing into a run its restart has cleared."""

    def work(part: Selection, report, swap) -> int:
        (tmp_path / f"child-{os.getpid()}").write_text("")
        time.sleep(120)
        return 0

    parent = os.fork()
    if parent == 0:  # the "worker": forks the shards, then waits for them
        try:
            parallel.fork_all([Selection(), Selection()], work, None)
        finally:
            os._exit(0)
    deadline = time.monotonic() + 30
    while len(list(tmp_path.glob("child-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    children = [int(p.name.split("-")[1]) for p in tmp_path.glob("child-*")]
    assert len(children) == 2
    os.kill(parent, signal.SIGKILL)
    os.waitpid(parent, 0)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in children)


def test_fast_iso_parsing_accepts_and_refuses_what_strptime_does():
    cases = []
    for y in ("0000", "0001", "2024", "2023", "9999"):
        for m in ("00", "01", "02", "12", "13"):
            for d in ("00", "01", "28", "29", "30", "31", "32"):
                cases.append((f"{y}-{m}-{d}", "date"))
                for hm in ("00:00", "23:59", "24:00", "12:60"):
                    cases.append((f"{y}-{m}-{d} {hm}", "datetime"))
                    cases += [(f"{y}-{m}-{d} {hm}:{s}", "datetime_seconds") for s in ("00", "59", "60", "61")]
    cases += [("2024-01-02T10:30", "datetime"), ("\uff12\uff10\uff12\uff14-01-02", "date"), ("2024-01-02\n", "date"),
              (" 2024-01-02", "date"), ("2024-1-2", "date"), ("2024-01-02", "time")]  # fmt: skip
    for value, data_type in cases:
        expected = parse_iso_strptime(value, data_type)
        got = parse_iso(value, data_type)
        assert got == expected and type(got) is type(expected), (value, data_type)
    assert parse_iso("2024-02-29", "date") == date(2024, 2, 29)
    assert parse_iso("2024-02-29 23:59:59", "datetime_seconds") == datetime(2024, 2, 29, 23, 59, 59)


@pytest.mark.django_db
def test_a_limit_of_today_gives_check_values_message():
    """consent_date's maximum is 'today' (read once per run, then cached per text), with check_value's words."""
    from registry.quality.engine import find_discrepancies
    from registry.services.design import design_of
    from registry.services.entry import form_save
    from registry.services.records import record_create
    from tests.quality.test_builtin_rules import GOOD, tamper
    from tests.registry.designs import import_classic
    from tests.registry.factories import build_world

    project = import_classic("dqtoday")
    world = build_world(project=project)
    design = design_of(project)
    records = []
    for _ in range(3):
        record = record_create(scope=world.scope("dm"), site=world.site_a)
        form_save(scope=world.scope("dm"), record=record, event=design.default_event(), instrument="demographics",
                  values=GOOD)  # fmt: skip
        records.append(record)
    tamper(records[0], consent_date="2999-01-01")
    tamper(records[1], consent_date="2999-01-01")  # the same text again: the type check is reused
    hits = list(find_discrepancies(project=project, design=design, selection=Selection(rules=["D"])))
    expected = [p.message for p in check_value(design.field_map["consent_date"], "2999-01-01", values={})]
    assert len(expected) == 1 and "maximum" in expected[0]
    assert sorted((f.record, f.field, f.message) for f in hits) == [
        (records[0].pk, "consent_date", expected[0]),
        (records[1].pk, "consent_date", expected[0]),
    ]
