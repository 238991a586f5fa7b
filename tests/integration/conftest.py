"""Fixtures for the integration tests: `server` (one socialauth per test module, default
settings) and `make_server` (a fresh one with given settings, stopped after the test).

`--server KIND` (or SA_SERVER=KIND) picks the web server every test runs behind (sa_server.py
lists them; `make test` runs the suite once per kind). Tests marked `lighttpd_only` are about
lighttpd's own process handling and are skipped, with that reason, behind the others;
`fastcgi_only` ones are about what a process keeps between requests, skipped behind CGI."""

import os
import sys

import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sa_server import SERVERS, SIGNING_KEY, Server, install_tree, installed, server_kind  # noqa: E402,F401
from google_fixture import *  # noqa: E402,F401,F403
import secret_watch  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_server_logs():
    """Records every secret the suite sends or receives; at the end, fails the run when any
    server log holds one (secret_watch.py)."""
    original = requests.Session.request

    def recording(self, method, url, **kw):
        r = original(self, method, url, **kw)
        secret_watch.record_exchange(kw, r)
        return r

    requests.Session.request = recording
    yield
    requests.Session.request = original
    found = secret_watch.leaks()
    print(f"\nsecret scan: {len(secret_watch.secrets)} secrets, "
          f"{len(secret_watch.logs)} server logs, {len(found)} leaks")
    assert not found, found[:20]


def pytest_addoption(parser):
    parser.addoption("--server", choices=SERVERS, default=None,
                     help="web server to run the suite behind (default: $SA_SERVER or lighttpd)")


def pytest_configure(config):
    if config.getoption("--server"):
        os.environ["SA_SERVER"] = config.getoption("--server")
    if installed() and not config.option.basetemp:
        # www-data must reach the servers' directories. Not under /tmp/pytest-of-root: every
        # pytest that starts (any run on this machine) makes that 0700 again.
        config.option.basetemp = os.path.join(install_tree()["work"], "pytest")
    config.addinivalue_line("markers", "lighttpd_only: the test's subject is lighttpd itself")
    config.addinivalue_line("markers", "server_independent: no web server is its subject (lighttpd pass only)")
    config.addinivalue_line("markers", "fastcgi_only: about a process serving many requests")


def pytest_report_header(config):
    return f"socialauth web server: {server_kind()}"


def pytest_runtest_setup(item):
    if item.get_closest_marker("lighttpd_only") and server_kind() != "lighttpd":
        pytest.skip(f"lighttpd only (its subject is lighttpd's process handling), not {server_kind()}")
    if item.get_closest_marker("fastcgi_only") and server_kind() in ("cgi", "lighttpd-cgi"):
        pytest.skip("a CGI process serves one request: nothing is kept between requests")
    if item.get_closest_marker("server_independent") and server_kind() != "lighttpd":
        pytest.skip("no web server is its subject: runs in the lighttpd pass")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("sa"))
    yield s
    s.stop()


@pytest.fixture
def make_server(tmp_path_factory):
    started = []

    def make(**settings):
        s = Server(tmp_path_factory.mktemp("sa"), **settings)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()
