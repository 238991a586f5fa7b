"""The index page (htdocs/index.html) in headless Chromium, behind whichever web server the
suite runs against: what the service is, its health, the token box calling user-me, and the
Sign in with Google button only when a client id is configured. The screenshot is kept in
tests/artifacts/ (git-ignored) for a person to look at.

Chromium is Debian's /usr/bin/chromium, driven by playwright-core (tests/browser/, installed by
`npm ci` from its package-lock.json; `make test` and .ci/run do that)."""

import json
import os
import subprocess

import pytest

from sa_server import ROOT, server_kind

BROWSER_DIR = os.path.join(ROOT, "tests", "browser")
ARTIFACTS = os.path.join(ROOT, "tests", "artifacts")


def open_page(server, token, name):
    assert os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")), \
        "run `npm ci --prefix tests/browser` (make test does)"
    os.makedirs(ARTIFACTS, exist_ok=True)
    shot = os.path.join(ARTIFACTS, f"index-{name}-{server_kind()}.png")
    r = subprocess.run(["node", os.path.join(BROWSER_DIR, "index-page.mjs"), server.url("/"), token, shot],
                       capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stderr
    assert os.path.getsize(shot) > 10000
    return json.loads(r.stdout)


def test_index_page_with_google_client(make_server):
    s = make_server(google_client_ids="page-client.apps.googleusercontent.com",
                    google_redirect_uri="http://127.0.0.1:3000/api/auth/callback/google")
    u = s.create_user("pagevisitor", first_name="Page")
    seen = open_page(s, s.mint(u["pk"])["access"], "signed-in")
    assert seen["title"] == "socialauth"
    assert seen["health"] == "ok (store ok)" and seen["healthClass"] == "ok"
    assert seen["googleVisible"] is True
    assert "client_id=page-client.apps.googleusercontent.com" in seen["googleHref"]
    assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A3000%2Fapi%2Fauth%2Fcallback%2Fgoogle" in seen["googleHref"]
    status, body = seen["out"].split(" ", 1)
    assert status == "200" and json.loads(body)["pk"] == u["pk"]
    assert seen["errors"] == []


def test_index_page_without_client_and_bad_token(make_server):
    s = make_server(google_client_ids=None)
    seen = open_page(s, "not-a-token", "no-client")
    assert seen["health"] == "ok (store ok)"
    assert seen["googleVisible"] is False
    assert seen["out"].startswith("401 ")
    assert seen["errors"] == []


def test_index_page_shows_store_down(make_server):
    import shutil
    s = make_server()
    s.stop()
    shutil.rmtree(s.db_home)
    s.start()
    seen = open_page(s, "", "store-down")
    assert seen["health"] == "unavailable (503)" and seen["healthClass"] == "down"


@pytest.mark.parametrize("with_id", [True, False])
def test_client_config_endpoint(make_server, with_id):
    ids = "one.apps.googleusercontent.com two.apps.googleusercontent.com" if with_id else None
    s = make_server(google_client_ids=ids)
    r = s.get("/api/client-config/")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    expected = {"google_client_id": "one.apps.googleusercontent.com" if with_id else None,
                "google_redirect_uri": None}
    assert r.json() == expected
    assert s.post("/api/client-config/").status_code == 405
