"""Upgrading a store made by the version before case-insensitive usernames and text checks
(issue 8 point 3, issue 9 point 2), with that version's own binaries.

The older version (commit OLD, built here from this repository's history) signs two Google
users in, lets one rename itself to a case variant of the other ("ALICE" beside "alice"),
and stores a first_name that is not UTF-8 (form body first_name=%FF). Then this version:
- rebuilds the username index in place when a program first opens the store (user list);
- `user list` / `user show` name the broken record and exit 1 instead of leaving it out;
- `init` reports the case variants; both users keep signing in with Google (by sub);
- usernames are unique ignoring case from now on, and `user update` resolves both problems."""
import json
import os
import subprocess
import uuid

import pytest

import sa_server
from google_fixture import GoogleClient

OLD = "d34ee7ed4229948eb60866657be94b609c7ac46a"   # last version with exact-case usernames
USER = "/api/auth/user/"
LOGIN = "/api/social/login/google/"


@pytest.fixture(scope="module")
def old_root():
    """OLD's tree, built once per machine (kept under /tmp by its commit)."""
    root = f"/tmp/socialauth-old-{OLD[:12]}"
    if not os.path.exists(os.path.join(root, "bin", "socialauth")):
        os.makedirs(root, exist_ok=True)
        archive = subprocess.run(["git", "-C", sa_server.ROOT, "archive", OLD],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", root], input=archive, check=True)
        subprocess.run(["nice", "make", "-s", "-j2", "-C", root, "all"], check=True,
                       capture_output=True)
    return root


def login(server, google, sub, given):
    token = google.mint_id_token(sub=sub, email=f"{sub}@example.com", given_name=given,
                                 family_name="Test")
    r = server.post(LOGIN, json={"id_token": token})
    assert r.status_code == 200, r.text
    return r.json()


# The older version's programs run from its own checkout behind lighttpd; the subject is the
# store they leave, which no web server touches.
@pytest.mark.server_independent
def test_upgrade_from_old_store(old_root, tmp_path, monkeypatch):
    google = GoogleClient.start()
    try:
        run_upgrade(old_root, tmp_path, monkeypatch, google)
    finally:
        google.stop()


def run_upgrade(old_root, tmp_path, monkeypatch, google):
    settings = dict(google_timeout="1", **google.settings())
    sub_a, sub_b, sub_c = (uuid.uuid4().hex for _ in range(3))

    # ---- the older version makes the store ----
    with monkeypatch.context() as m:
        m.setattr(sa_server, "ROOT", old_root)
        old = sa_server.Server(tmp_path, **settings)
        try:
            a = login(old, google, sub_a, "Alice")["user"]
            b = login(old, google, sub_b, "Bob")
            c = login(old, google, sub_c, "Carol")
            assert a["username"] == "alice"
            r = old.request("PATCH", USER, json={"username": "ALICE"},
                            headers={"Authorization": "Bearer " + b["access"]})
            assert r.status_code == 200, r.text   # exact-case uniqueness let this through
            r = old.request("PATCH", USER, data="first_name=%FF",
                            headers={"Authorization": "Bearer " + c["access"],
                                     "Content-Type": "application/x-www-form-urlencoded"})
            assert r.status_code == 503, r.text   # stored the byte, then could not answer
        finally:
            old.stop()
        # Stopping kills the endpoints; the next opener may have to recover the environment
        # first (the older version answers "needs recovery; restart" once, and under load was
        # seen to hang once on what a killed process held): let it, with its own bounds.
        for _ in range(4):
            try:
                if subprocess.run([os.path.join(old_root, "bin", "socialauth"), "--config",
                                   old.conf, "session", "count"], capture_output=True,
                                  timeout=20).returncode == 0:
                    break
            except subprocess.TimeoutExpired:
                pass
        else:
            pytest.fail("the older version's store does not open")
    assert not os.path.exists(tmp_path / "db" / "users_by_username_ci.db")

    # ---- this version's admin command opens it first: index built in place ----
    new = sa_server.Server.__new__(sa_server.Server)
    new.conf = str(tmp_path / "socialauth.conf")
    r = new.cli("user", "list")
    assert os.path.exists(tmp_path / "db" / "users_by_username_ci.db")
    assert r.returncode == 1
    assert f"user {c['user']['pk']}: first_name is not valid UTF-8" in r.stderr
    listed = [json.loads(line) for line in r.stdout.splitlines()]
    assert sorted(u["username"] for u in listed) == ["ALICE", "alice"]   # the others still listed
    r = new.cli("user", "show", c["user"]["pk"])
    assert r.returncode == 1 and "first_name is not valid UTF-8" in r.stderr
    # lookups prefer the exact spelling when variants exist
    assert json.loads(new.cli_ok("user", "show", "alice"))["pk"] == a["pk"]
    assert json.loads(new.cli_ok("user", "show", "ALICE"))["pk"] == b["user"]["pk"]

    # verify (issue 14) reports both kinds of problem
    r = new.cli("verify")
    assert r.returncode == 6, r.stdout + r.stderr
    assert f'user "{c["user"]["pk"]}": first_name is not valid UTF-8' in r.stdout
    assert f'user "{a["pk"]}": username "alice" differs only in case' in r.stdout
    assert f'user "{b["user"]["pk"]}": username "ALICE" differs only in case' in r.stdout

    r = new.cli("init")
    assert r.returncode == 0, r.stderr
    assert "usernames that differ only in case:" in r.stderr
    assert f"alice (id {a['pk']})" in r.stderr and f"ALICE (id {b['user']['pk']})" in r.stderr

    # ---- this version serves the upgraded store ----
    server = sa_server.Server(tmp_path, **settings)
    try:
        again_a = login(server, google, sub_a, "Alice")
        again_b = login(server, google, sub_b, "Bob")
        assert again_a["user"]["pk"] == a["pk"] and again_a["user"]["username"] == "alice"
        assert again_b["user"]["pk"] == b["user"]["pk"] and again_b["user"]["username"] == "ALICE"
        # each variant keeps its own name through a PATCH of another field
        r = server.request("PATCH", USER, json={"first_name": "Bobby"},
                           headers={"Authorization": "Bearer " + again_b["access"]})
        assert r.status_code == 200, r.text
        # no new variant can be made
        d = login(server, google, uuid.uuid4().hex, "Dora")
        r = server.request("PATCH", USER, json={"username": "Alice"},
                           headers={"Authorization": "Bearer " + d["access"]})
        assert (r.status_code, r.json()) == (400, {"username": [
            "A user with that username already exists."]})
        # the broken record answers 503 until repaired, then works
        r = server.cli("user", "update", c["user"]["pk"], "--first-name", "Carol")
        assert r.returncode == 0, r.stderr
        assert server.cli("user", "list").returncode == 0
        # the operator resolves the variants as the README says
        r = server.cli("user", "update", b["user"]["pk"], "--username", "alice")
        assert r.returncode == 1 and 'another user already has username "alice"' in r.stderr
        server.cli_ok("user", "update", b["user"]["pk"], "--username", "bob")
        r = server.cli("init")
        assert r.returncode == 0 and "differ only in case" not in r.stderr
        r = server.cli("verify")
        assert r.returncode == 0, r.stdout + r.stderr
        assert login(server, google, sub_b, "Bob")["user"]["username"] == "bob"
    finally:
        server.stop()


@pytest.mark.server_independent  # as above: the older version's store is the subject
def test_upgrade_when_an_endpoint_opens_the_store_first(old_root, tmp_path, monkeypatch):
    """No `socialauth init` after the upgrade: the first endpoint process builds the index and
    logs the case variants; lookups and uniqueness work from its first request on."""
    conf = tmp_path / "socialauth.conf"
    with monkeypatch.context() as m:
        m.setattr(sa_server, "ROOT", old_root)
        old = sa_server.Server.__new__(sa_server.Server)
        old.conf = str(conf)
        conf.write_text(f"db_home = {tmp_path}/db\nsigning_key = {sa_server.SIGNING_KEY}\n"
                        "google_client_ids = test-client.apps.googleusercontent.com\n")
        conf.chmod(0o600)   # it holds the signing key
        old.cli_ok("init")
        lower = json.loads(old.cli_ok("user", "create", "--username", "ada", "--email", "a@x.org"))
        upper = json.loads(old.cli_ok("user", "create", "--username", "ADA", "--email", "b@x.org"))
    real_cli_ok = sa_server.Server.cli_ok
    monkeypatch.setattr(sa_server.Server, "cli_ok",
                        lambda self, *args: "" if args == ("init",) else real_cli_ok(self, *args))
    server = sa_server.Server(tmp_path)
    try:
        # whichever endpoint process opened the store first built the index: one request to
        # each, and that one logs the variants inside its request
        for path in ["/api/health/", USER, LOGIN, "/api/auth/token/refresh/",
                     "/api/auth/token/verify/", "/api/auth/logout/", "/api/posts/"]:
            assert server.get(path).status_code in (200, 401, 405)
        log = server.log()
        assert log.count("differs only in case") == 2
        assert f'username "ada" (user {lower["pk"]}) differs only in case' in log
        assert f'username "ADA" (user {upper["pk"]}) differs only in case' in log
        for pk in (lower["pk"], upper["pk"]):
            tokens = json.loads(real_cli_ok(server, "token", "mint", pk))
            r = server.get(USER, headers={"Authorization": "Bearer " + tokens["access"]})
            assert r.status_code == 200 and r.json()["pk"] == pk
        r = server.cli("user", "create", "--username", "Ada", "--email", "c@x.org")
        assert r.returncode == 1 and "username" in r.stderr
    finally:
        server.stop()
