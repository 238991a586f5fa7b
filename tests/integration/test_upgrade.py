"""A store made by the previous release keeps working after the upgrade: the databases for
tokens without sid (jtis.db, jtis_by_expiry.db, not_before.db) are created in place when a
program opens it. The fixture (fixtures/store-v1.tar.gz) was made by main's programs at
d34ee7e with fixtures/make-store-v1.sh; its tokens are valid for ten years."""

import json
import os
import tarfile

import pytest

from sa_server import Server
from tokens_util import craft, payload_of

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "store-v1.tar.gz")
ADDED = ("jtis.db", "jtis_by_expiry.db", "not_before.db")
# Indexes that replaced older ones, built from their primary when absent: the sessions by
# rounded expiry (issue 13: rotations then rarely write the index).
REBUILT = ("sessions_by_expiry_rounded.db",)
BLACKLISTED = {"detail": "Token is blacklisted", "code": "token_not_valid"}


def unpack(tmp_path):
    db = tmp_path / "db"
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(db)
    os.chmod(db, 0o700)
    tokens = json.loads((db / "tokens.json").read_text())
    assert not any((db / name).exists() for name in ADDED + REBUILT)  # really a store of before
    assert (db / "sessions_by_expiry.db").exists()
    return db, tokens


@pytest.fixture
def old_store(tmp_path):
    db, tokens = unpack(tmp_path)
    s = Server(tmp_path, init=False)  # serve it as it is: no `socialauth init`
    yield s, db, tokens
    s.stop()


def me(s, access):
    return s.get("/api/auth/user/", headers={"Authorization": "Bearer " + access})


def test_old_store_opens_and_serves(old_store):
    s, db, tokens = old_store
    assert s.get("/api/health/").status_code == 200
    assert all((db / name).exists() for name in ADDED + REBUILT)
    first, second = tokens
    r = me(s, first["access"])
    assert r.status_code == 200 and r.json()["username"] == "fixture"
    r = s.post("/api/auth/token/refresh/", json={"refresh": first["refresh"]})
    assert r.status_code == 200, r.text
    assert payload_of(r.json()["refresh"])["sid"] == payload_of(first["refresh"])["sid"]
    # the new databases work: a token without sid is adopted, then logged out
    django = craft("refresh", "fixture-user-1", lifetime=3600)
    r2 = s.post("/api/auth/token/refresh/", json={"refresh": django})
    assert r2.status_code == 200
    assert s.post("/api/auth/logout/", json={"refresh": django}).status_code == 200
    assert s.post("/api/auth/token/refresh/", json={"refresh": django}).json() == BLACKLISTED
    # a global logout records the not-before time in the old store
    assert s.post("/api/auth/logout/", json={"refresh": second["refresh"], "scope": "global"}).status_code == 200
    assert me(s, craft("access", "fixture-user-1", iat=1)).status_code == 401
    assert len(s.cli_ok("session", "list", "fixture").splitlines()) == 3
    # restarted (every process opens the upgraded store again), all still there
    s.restart()
    assert s.post("/api/auth/token/refresh/", json={"refresh": r.json()["refresh"]}).json() == BLACKLISTED
    assert me(s, tokens[0]["access"]).status_code == 401


def test_old_store_upgraded_by_admin_command_first(tmp_path):
    db, tokens = unpack(tmp_path)
    s = Server(tmp_path)  # `socialauth init` on the old store creates what is missing
    try:
        assert all((db / name).exists() for name in ADDED)
        assert me(s, tokens[1]["access"]).status_code == 200
        assert s.cli_ok("session", "count").strip() == "2"
        assert all((db / name).exists() for name in REBUILT)
        # the index built from the old sessions is consistent: rotating one rewrites it
        r = s.post("/api/auth/token/refresh/", json={"refresh": tokens[1]["refresh"]})
        assert r.status_code == 200, r.text
        s.cli_ok("verify")   # exit 0: no problem found
    finally:
        s.stop()
