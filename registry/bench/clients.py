"""Simulated browsers: log in through the login page and submit forms the way a browser does."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser

import requests
from requests.cookies import extract_cookies_to_jar


class ClientError(Exception):
    pass


class FormFields(HTMLParser):
    """The name/value pairs a browser would submit for one <form id=...>: what a user sends on Save.

    Disabled controls are left out (browsers do not submit them), unchecked boxes and radios too.
    """

    def __init__(self, form_id: str | None):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = form_id is None
        self.pairs: list[tuple[str, str]] = []
        self._select: str | None = None
        self._select_value: str | None = None
        self._first_option: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.form_id is not None:
            self.inside = a.get("id") == self.form_id
            return
        if not self.inside or "disabled" in a:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.pairs.append((name, a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and name:
            self._select, self._select_value, self._first_option = name, None, None
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._first_option is None:
                self._first_option = value
            if "selected" in a:
                self._select_value = value
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.form_id is not None:
            self.inside = False
        elif tag == "select" and self._select is not None:
            chosen = self._select_value if self._select_value is not None else self._first_option
            self.pairs.append((self._select, chosen or ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.pairs.append((self._textarea, "".join(self._text).removeprefix("\n")))
            self._textarea = None


def form_fields(html: str, form_id: str | None = None) -> list[tuple[str, str]]:
    parser = FormFields(form_id)
    parser.feed(html)
    parser.close()
    return parser.pairs


def logged_in_session(base_url: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    # The server is on loopback: no proxy may stand between (and reading the proxy variables of the environment
    # on every request cost the client ~0.3 ms of the cores it shares with the server under test).
    session.trust_env = False
    login_url = f"{base_url}/accounts/login/"
    page = session.get(login_url, timeout=30)
    token = dict(form_fields(page.text)).get("csrfmiddlewaretoken")
    if not token:
        raise ClientError("the login page has no CSRF token")
    answer = session.post(
        login_url,
        data={"csrfmiddlewaretoken": token, "username": username, "password": password},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302 or "sessionid" not in session.cookies:
        raise ClientError(f"login as {username} failed ({answer.status_code})")
    return session


def post_without_redirect_machinery(
    session: requests.Session, url: str, body: str, headers: dict, *, dropped: tuple[str, ...] = ()
) -> requests.Response:
    """POST, keep the cookies the answer sets, and follow nothing: what `session.post(..., allow_redirects=False)`
    does, without the rest. On a redirect requests still prepares the next request (cookies copied and
    extracted again, auth rebuilt) only to fill `Response.next`: ~0.3 ms of the cores the simulated browser
    shares with the server under test, on every save (the trivial page answers 200 and never paid it).

    `dropped`: cookies the caller would throw away (the save's "Saved" messages, shown by the page a browser
    would load next). An answer that sets only those leaves the jar alone: http.cookiejar's parsing of one
    Set-Cookie, and removing it again, cost the client more than the rest of reading the answer.
    """
    prepared = session.prepare_request(requests.Request("POST", url, data=body, headers=headers))
    answer = session.get_adapter(url).send(prepared, timeout=60)
    names = [cookie.partition("=")[0].strip() for cookie in answer.raw.headers.getlist("Set-Cookie")]
    if any(name not in dropped for name in names):
        extract_cookies_to_jar(session.cookies, prepared, answer.raw)
        for name in dropped:
            session.cookies.pop(name, None)
    answer.content  # noqa: B018 - read the body: it returns the connection to the pool
    return answer


@dataclass
class LoadResult:
    """Latencies (ms) of every request of a bounded loop, and the wall time of the whole loop."""

    latencies_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def throughput_rps(self) -> float:
        return len(self.latencies_ms) / self.wall_s if self.wall_s else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return 0.0
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[round(q) - 1]


def run_clients(clients: list[Callable[[], None]], *, requests_each: int) -> LoadResult:
    """Every client calls its step `requests_each` times at once, in its own thread; all start together."""
    result = LoadResult()
    lock = threading.Lock()
    start = threading.Barrier(len(clients) + 1)

    def loop(step: Callable[[], None]) -> None:
        start.wait()
        for _ in range(requests_each):
            began = time.perf_counter()
            try:
                step()
            except Exception as exc:  # a failed request is counted and reported, not fatal
                with lock:
                    result.errors.append(str(exc)[:200])
                continue
            elapsed = (time.perf_counter() - began) * 1000
            with lock:
                result.latencies_ms.append(elapsed)

    threads = [threading.Thread(target=loop, args=(step,), daemon=True) for step in clients]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    result.wall_s = time.perf_counter() - began
    return result
