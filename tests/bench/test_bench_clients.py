"""The simulated browsers keep the cookies a server sets, except those the caller drops anyway."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from registry.bench.clients import post_without_redirect_machinery


class _Answers(BaseHTTPRequestHandler):
    cookies: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(302)
        self.send_header("Location", "/next/")
        for cookie in self.cookies:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _post(server, cookies: list[str]) -> requests.Session:
    _Answers.cookies = cookies
    session = requests.Session()
    session.cookies.set("sessionid", "old", domain="127.0.0.1", path="/")
    url = f"http://127.0.0.1:{server.server_address[1]}/save/"
    answer = post_without_redirect_machinery(session, url, "a=1", {}, dropped=("messages",))
    assert answer.status_code == 302 and answer.headers["Location"] == "/next/"
    return session


def test_an_answer_setting_only_dropped_cookies_leaves_the_jar_as_it_was(server):
    session = _post(server, ["messages=saved; Path=/; HttpOnly"])
    assert dict(session.cookies) == {"sessionid": "old"}


def test_a_rotated_session_or_csrf_cookie_is_kept_and_the_dropped_ones_still_are_not(server):
    session = _post(server, ["messages=saved; Path=/", "sessionid=new; Path=/", "csrftoken=t2; Path=/"])
    assert dict(session.cookies) == {"sessionid": "new", "csrftoken": "t2"}
