"""Other people's code checks our tokens: PyJWT and the real simplejwt accept ours, and
tokens simplejwt minted work here (api.html#tokens: the migration from Django)."""

import json
import os
import subprocess

import jwt
import pytest

from sa_server import SIGNING_KEY

TOOL = os.path.join(os.path.dirname(__file__), "simplejwt_tool.py")


def simplejwt(*args):
    return subprocess.run(["/usr/bin/python3", TOOL, SIGNING_KEY, *args],
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def grace(server):
    user = server.create_user("grace", "grace@example.com")
    return {"user": user, **server.mint(user["pk"])}


def test_pyjwt_verifies_our_tokens(grace):
    for kind in ("access", "refresh"):
        payload = jwt.decode(grace[kind], SIGNING_KEY, algorithms=["HS256"])
        assert payload["token_type"] == kind
        assert payload["user_id"] == grace["user"]["pk"]
        assert len(payload["jti"]) == 32 and int(payload["jti"], 16) >= 0
    header = jwt.get_unverified_header(grace["access"])
    assert header == {"alg": "HS256", "typ": "JWT"}
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(grace["access"], "some-other-key-some-other-key-12", algorithms=["HS256"])


def test_simplejwt_accepts_our_tokens(grace):
    for kind in ("access", "refresh"):
        r = simplejwt("verify", kind, grace[kind])
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["user_id"] == grace["user"]["pk"]
    r = simplejwt("verify", "access", grace["refresh"])
    assert r.returncode == 1 and "wrong type" in r.stderr


def test_simplejwt_string_user_id_tokens_work_here(server, grace):
    minted = json.loads(simplejwt("mint", grace["user"]["pk"]).stdout)
    r = server.get("/api/auth/user/", headers={"Authorization": "Bearer " + minted["access"]})
    assert r.status_code == 200 and r.json()["pk"] == grace["user"]["pk"]
    r = server.post("/api/auth/token/refresh/", json={"refresh": minted["refresh"]})
    assert r.status_code == 200


def test_simplejwt_integer_user_id_tokens_work_here(server):
    server.cli_ok("user", "create", "--id", "42", "--username", "djangouser", "--email", "dj@example.com")
    minted = json.loads(simplejwt("mint", "42", "int").stdout)
    r = server.get("/api/auth/user/", headers={"Authorization": "Bearer " + minted["access"]})
    assert r.status_code == 200, r.text
    assert r.json()["pk"] == "42" and r.json()["username"] == "djangouser"
    r = server.post("/api/auth/token/refresh/", json={"refresh": minted["refresh"]})
    assert r.status_code == 200
    new = r.json()
    assert simplejwt("verify", "access", new["access"]).returncode == 0
    assert jwt.decode(new["access"], SIGNING_KEY, algorithms=["HS256"])["user_id"] == "42"
