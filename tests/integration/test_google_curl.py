"""libcurl is loaded when google-login first needs Google, not at start (README "Performance",
lib/google/google_curl_internal.h): a cold key cache loads it and fetches the keys through it;
a warm cache (the store's copy) signs in without it; and when libcurl.so.4 cannot be loaded
the sign-in gets the answer for Google being unreachable (503, api.html#google-login), the
store is left as it was, and the log names the library and why.

The program runs alone, in FastCGI mode on a socket it gets as standard input (as lighttpd and
spawn-fcgi start it), so the test can read its /proc/PID/maps and give it an environment: no
web server is the subject."""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))

from fcgi_client import Endpoint  # noqa: E402

pytestmark = pytest.mark.server_independent

LOGIN = "/api/social/login/google/"
UNAVAILABLE = {"detail": "Google could not be reached.", "code": "upstream_unavailable"}


def start(server, tmp_path, env=None):
    program = os.path.join(server.libexec, "cgi-bin", "google-login")
    return Endpoint([program], {"SOCIALAUTH_CONF": server.conf, **(env or {})},
                    str(tmp_path / "google-login.sock"))


def login(ep, google, sub, log=None):
    """(status, JSON body) of a sign-in with a fresh ID token; log lines go to list log."""
    status, headers, body = ep.request(
        "POST", LOGIN, json.dumps({"id_token": google.mint_id_token(sub=sub)}).encode(),
        {"Content-Type": "application/json"}, log)
    return status, json.loads(body)


def curl_loaded(ep):
    with open(f"/proc/{ep.pid}/maps") as f:
        return "libcurl.so.4" in f.read()


@pytest.fixture
def gs(fake_google, make_server):
    return fake_google, make_server(**fake_google.settings())


def test_cold_cache_loads_libcurl_warm_cache_does_not(gs, tmp_path):
    google, server = gs
    ep = start(server, tmp_path)
    try:
        assert login(ep, google, "3000001")[0] == 200  # the first request: keys are cold
        assert google.calls()["certs"] == 1
        assert curl_loaded(ep)
    finally:
        ep.stop()
    ep = start(server, tmp_path)  # a fresh process: the store holds the keys
    try:
        assert login(ep, google, "3000002")[0] == 200
        assert google.calls()["certs"] == 1
        assert not curl_loaded(ep)
    finally:
        ep.stop()


def test_libcurl_that_cannot_load_is_google_unreachable(gs, tmp_path):
    google, server = gs
    broken = tmp_path / "broken-lib"
    broken.mkdir()
    (broken / "libcurl.so.4").write_text("not an ELF file\n")
    ep = start(server, tmp_path, {"LD_LIBRARY_PATH": str(broken)})
    try:
        log = []
        assert login(ep, google, "3000003", log) == (503, UNAVAILABLE)
        text = b"".join(log).decode()
        assert "cannot load libcurl.so.4" in text and str(broken / "libcurl.so.4") in text, text
        # The failure is not remembered: the next request tries again, and fails the same.
        assert login(ep, google, "3000003") == (503, UNAVAILABLE)
        assert not curl_loaded(ep)
    finally:
        ep.stop()
    assert google.calls().get("certs", 0) == 0
    assert server.cli_ok("user", "list") == ""

    # Once a working process has put Google's keys in the store, the same broken library
    # does not matter: a sign-in needs no HTTP.
    ep = start(server, tmp_path)
    try:
        assert login(ep, google, "3000004")[0] == 200
    finally:
        ep.stop()
    ep = start(server, tmp_path, {"LD_LIBRARY_PATH": str(broken)})
    try:
        assert login(ep, google, "3000005")[0] == 200
        assert not curl_loaded(ep)
    finally:
        ep.stop()
