"""The simulated users: one thread each, a bounded loop of form opens and saves, dashboard views, query
lists and answers, and API exports against 127.0.0.1 only. Each answer is timed; each accepted save and
query answer is remembered."""

from __future__ import annotations

import random
import re
import statistics
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from registry.loadtest.setup import LoadUser

ACTIONS = ("form_open", "form_save", "dashboard", "query_list", "query_answer", "api_export")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ROW_VERSION = re.compile(r'name="row_version" value="(\d*)"')


@dataclass
class Report:
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    saves: list[tuple[str, str]] = field(default_factory=list)  # (record_id, weight) answered 2xx/3xx
    answers: list[int] = field(default_factory=list)  # ids of the queries whose answer was accepted
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, action: str, seconds: float, error: str = "") -> None:
        with self.lock:
            self.timings[action].append(seconds)
            if error:
                self.errors.append(f"{action}: {error}")

    def summary(self) -> dict[str, dict[str, float]]:
        out = {}
        for action in ACTIONS:
            values = sorted(self.timings.get(action, []))
            if not values:
                continue
            p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
            out[action] = {"count": len(values), "p50_ms": round(statistics.median(values) * 1000, 1),
                           "p95_ms": round(p95 * 1000, 1)}  # fmt: skip
        return out


class SimulatedUser:
    def __init__(self, base_url: str, code: str, user: LoadUser, report: Report, seed: int) -> None:
        if urlsplit(base_url).hostname != "127.0.0.1":
            raise ValueError("the load test talks to 127.0.0.1 only")
        self.base, self.code, self.user, self.report = base_url.rstrip("/"), code, user, report
        self.session = requests.Session()
        self.rng = random.Random(seed)  # noqa: S311 - a workload mix, not a secret
        self.counter = 0
        self.pending_queries = list(user.open_queries)

    def _timed(self, action: str, call, ok=(200,)):
        started = time.perf_counter()
        try:
            response = call()
        except requests.RequestException as exc:
            self.report.add(action, time.perf_counter() - started, type(exc).__name__)
            return None
        elapsed = time.perf_counter() - started
        error = "" if response.status_code in ok else f"HTTP {response.status_code} {response.url}"
        self.report.add(action, elapsed, error)
        return None if error else response

    def login(self) -> None:
        page = self.session.get(f"{self.base}/accounts/login/", timeout=60)
        token = CSRF.search(page.text)
        response = self.session.post(
            f"{self.base}/accounts/login/", allow_redirects=False, timeout=60,
            data={"username": self.user.username, "password": self.user.password,
                  "csrfmiddlewaretoken": token.group(1) if token else ""},
        )  # fmt: skip
        if response.status_code != 302:
            raise RuntimeError(f"{self.user.username} could not log in ({response.status_code})")

    def form_url(self) -> str:
        return f"{self.base}/projects/{self.code}/records/{self.user.record_id}/event_1_arm_1/demographics/1/"

    def open_and_save(self) -> None:
        page = self._timed("form_open", lambda: self.session.get(self.form_url(), timeout=60))
        if page is None:
            return
        csrf, version = CSRF.search(page.text), ROW_VERSION.search(page.text)
        self.counter += 1
        weight = f"{self.rng.randint(1, 9999)}.{self.counter}"
        data = {"csrfmiddlewaretoken": csrf.group(1) if csrf else "", "name": "Load Test", "age": "33",
                "weight": weight, "status": "0", "row_version": version.group(1) if version else ""}  # fmt: skip
        saved = self._timed("form_save", lambda: self.session.post(
            self.form_url(), data=data, allow_redirects=False, timeout=60, headers={"Referer": self.form_url()}),
            ok=(302,))  # fmt: skip
        if saved is not None:
            with self.report.lock:
                self.report.saves.append((self.user.record_id, weight))

    def answer_query(self, pk: int) -> None:
        """The coordinator answers an open query on her record, as the query page's form does."""
        url = f"{self.base}/projects/{self.code}/queries/{pk}/"
        data = {"csrfmiddlewaretoken": self.session.cookies.get("csrftoken", ""), "action": "answer",
                "category": "confirmed", "comment": "Checked against the source: correct."}  # fmt: skip
        answered = self._timed("query_answer", lambda: self.session.post(
            url, data=data, allow_redirects=False, timeout=60, headers={"Referer": url}), ok=(302,))  # fmt: skip
        if answered is not None:
            with self.report.lock:
                self.report.answers.append(pk)

    def step(self) -> None:
        roll = self.rng.random()
        if roll < 0.4:
            self.open_and_save()
        elif roll < 0.65:
            self._timed("dashboard", lambda: self.session.get(f"{self.base}/projects/{self.code}/records/", timeout=60))
        elif roll < 0.85:
            self._timed("query_list", lambda: self.session.get(f"{self.base}/projects/{self.code}/queries/",
                                                               timeout=60))  # fmt: skip
            if self.pending_queries:
                self.answer_query(self.pending_queries.pop())
        else:
            self._timed(
                "api_export",
                lambda: requests.post(
                    f"{self.base}/api/",
                    timeout=60,
                    data={
                        "token": self.user.token,
                        "content": "record",
                        "format": "json",
                        "records[0]": self.user.record_id,
                    },
                ),
            )

    def run_until(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            self.step()


def run_load(base_url: str, code: str, users: list[LoadUser], seconds: float, seed: int = 1) -> Report:
    """Log every user in, then run them all concurrently for `seconds`; one thread per user (bounded)."""
    report = Report()
    simulated = [SimulatedUser(base_url, code, u, report, seed + i) for i, u in enumerate(users)]
    for s in simulated:
        s.login()
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=s.run_until, args=(deadline,), daemon=True) for s in simulated]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return report
