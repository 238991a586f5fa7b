"""pytest fixture `fake_google`: a fresh fake Google per test (conftest: from google_fixture import *).

The fixture yields a GoogleClient (tests/fakes/google_client.py) with .base_url, the URL
properties (.jwks_url, .tokeninfo_url, .userinfo_url, .token_url), .config_lines() for
socialauth.conf, and the controls (mint_id_token, register_access_token, register_code, rotate,
fail, calls...). The fake is stopped after the test.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakes"))

from google_client import GoogleClient  # noqa: E402

__all__ = ["fake_google", "GoogleClient"]


@pytest.fixture
def fake_google():
    client = GoogleClient.start()
    try:
        yield client
    finally:
        client.stop()
