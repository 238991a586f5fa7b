"""Fixtures for the cluster tests: `cluster` (three nodes on loopback, a fresh fake Google)."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from cluster import Cluster  # noqa: E402
from google_fixture import *  # noqa: E402,F401,F403


@pytest.fixture
def cluster(fake_google, tmp_path):
    settings = {"signing_key": "test-signing-key-0123456789abcdef0123456789abcdef",
                "cors_allowed_origins": "http://127.0.0.1:3000", "max_procs": "1",
                "google_timeout": "2"}
    settings.update(fake_google.settings())
    c = Cluster(tmp_path, settings)
    try:
        yield fake_google, c
    finally:
        c.stop()
