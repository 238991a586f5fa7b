"""Fixtures for the integration tests: `server` (one socialauth per test module, default
settings) and `make_server` (a fresh one with given settings, stopped after the test)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sa_server import SIGNING_KEY, Server  # noqa: E402,F401
from google_fixture import *  # noqa: E402,F401,F403


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
