"""Fixtures for the cluster tests: `cluster` (three nodes on loopback, a fresh fake Google),
`netns_cluster` (the same with replication in network namespaces)."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from cluster import Cluster  # noqa: E402
from google_fixture import *  # noqa: E402,F401,F403


def _settings(fake_google):
    settings = {"signing_key": "test-signing-key-0123456789abcdef0123456789abcdef",
                "cors_allowed_origins": "http://127.0.0.1:3000", "max_procs": "1",
                "google_timeout": "2"}
    settings.update(fake_google.settings())
    return settings


@pytest.fixture
def cluster(fake_google, tmp_path):
    c = Cluster(tmp_path, _settings(fake_google))
    try:
        yield fake_google, c
    finally:
        c.stop()


@pytest.fixture
def netns_cluster(fake_google, tmp_path):
    """Three nodes whose replication runs in network namespaces made for the test."""
    c = Cluster(tmp_path, _settings(fake_google), netns=True)
    try:
        yield fake_google, c
    finally:
        c.stop()
