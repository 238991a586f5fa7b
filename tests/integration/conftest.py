"""Fixtures for the integration tests: `server` (one socialauth per test module, default
settings) and `make_server` (a fresh one with given settings, stopped after the test)."""

import os
import sys

import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sa_server import SIGNING_KEY, Server  # noqa: E402,F401
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
