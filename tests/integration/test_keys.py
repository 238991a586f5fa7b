"""Our signing keys with a kid (lib/keyring.h, API.md section 2): rotation with tokens of both
keys in flight through lighttpd, retirement, tokens without kid (simplejwt's) on the Django
key, and the key directory's permissions."""

import base64
import concurrent.futures
import json
import os
import threading
import time

import jwt

from sa_server import SIGNING_KEY
from tokens_util import craft

ME = "/api/auth/user/"
REFRESH = "/api/auth/token/refresh/"
PICKUP = 1.3  # endpoints stat the key directory at most once a second


def header(token):
    h = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))


def status(server, token):
    return server.get(ME, headers={"Authorization": "Bearer " + token}).status_code


def key_bytes(server, kid):
    with open(os.path.join(server.dir, "keys", kid + ".key"), "rb") as f:
        return f.read()


def test_rotation_with_tokens_of_both_keys_in_flight(make_server):
    s = make_server(procs=2, signing_key_dir="keys")
    u = s.create_user("rotor")
    django = s.mint(u["pk"])  # no key in the directory yet: the Django key, no kid
    assert "kid" not in header(django["access"])
    assert json.loads(s.cli_ok("key", "list", "--json") or "[]") == []

    k1 = s.cli_ok("key", "rotate").strip()
    time.sleep(PICKUP)
    # minted by an endpoint (a refresh), so the running processes picked the key up
    r = s.post(REFRESH, json={"refresh": s.mint(u["pk"])["refresh"]})
    first = r.json()
    assert header(first["access"]) == {"alg": "HS256", "typ": "JWT", "kid": k1}
    assert jwt.decode(first["access"], key_bytes(s, k1), algorithms=["HS256"])["user_id"] == u["pk"]

    stop = threading.Event()
    seen = []

    def in_flight(tokens):
        while not stop.is_set():
            seen.append(tuple(status(s, t) for t in tokens))

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        load = [pool.submit(in_flight, [django["access"], first["access"]]) for _ in range(2)]
        k2 = s.cli_ok("key", "rotate").strip()
        time.sleep(PICKUP)
        second = s.post(REFRESH, json={"refresh": first["refresh"]}).json()
        assert header(second["access"])["kid"] == k2
        assert status(s, second["access"]) == 200
        stop.set()
        for f in load:
            f.result()
    assert seen and set(seen) == {(200, 200)}, "a token of the previous key was refused"

    listed = {k["kid"]: k["role"] for k in map(json.loads, s.cli_ok("key", "list").splitlines())}
    assert listed == {k1: "verifying", k2: "signing"}

    r = s.cli("key", "retire", k2)
    assert r.returncode == 1 and "is the signing key" in r.stderr
    r = s.cli("key", "retire", k1)
    assert r.returncode == 0
    time.sleep(PICKUP)
    assert status(s, first["access"]) == 401  # retired: ended before its expiry
    assert status(s, second["access"]) == 200
    assert status(s, django["access"]) == 200
    # simplejwt's tokens (no kid) are checked against the Django key, never the directory's
    assert status(s, craft(user_id=u["pk"])) == 200
    assert status(s, craft(user_id=u["pk"], key=key_bytes(s, k2).decode())) == 401
    r = s.cli("key", "retire", k1)
    assert r.returncode == 3 and "no key" in r.stderr

    # key material never enters the store: a copy of the store mints nothing
    for name in os.listdir(s.db_home):
        with open(os.path.join(s.db_home, name), "rb") as f:
            data = f.read()
        assert key_bytes(s, k2) not in data and SIGNING_KEY.encode() not in data


def test_key_commands_errors(make_server, tmp_path):
    s = make_server(signing_key_dir="keys")
    src = tmp_path / "shared.key"
    src.write_text("x" * 40 + "\n")
    assert s.cli("key", "add", "shared", str(src)).returncode == 0
    r = s.cli("key", "add", "shared", str(src))
    assert r.returncode == 1 and "already exists" in r.stderr
    short = tmp_path / "short.key"
    short.write_text("short")
    r = s.cli("key", "add", "other", str(short))
    assert r.returncode == 1 and "a key must be 32 to 512 bytes, not 5" in r.stderr
    r = s.cli("key", "add", "bad/kid", str(src))
    assert r.returncode == 1 and "expected 1 to 64 letters, digits" in r.stderr
    r = s.cli("key", "add", "x", str(tmp_path / "absent"))
    assert r.returncode == 3 and "cannot open" in r.stderr
    r = s.cli("key", "retire", "never-was")
    assert r.returncode == 3
    # a key directory others can open is refused with its name and the fix
    os.chmod(os.path.join(s.dir, "keys"), 0o755)
    r = s.cli("config", "check")
    assert r.returncode == 4 and "chmod 700" in r.stderr
    os.chmod(os.path.join(s.dir, "keys"), 0o700)
    os.chmod(os.path.join(s.dir, "keys", "shared.key"), 0o644)
    r = s.cli("config", "check")
    assert r.returncode == 4 and "shared.key must not be readable by group or others" in r.stderr


def test_without_a_key_directory_no_kid(server):
    u = server.create_user("plain")
    assert "kid" not in header(server.mint(u["pk"])["access"])
    r = server.cli("key", "list")
    assert r.returncode == 4 and "no `signing_key_dir`" in r.stderr
