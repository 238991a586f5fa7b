"""Our signing keys with a kid (lib/config/keyring.h, api.html#tokens): rotation with tokens of both
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
from tokens_util import craft, sign_raw

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
    r = s.cli("key", "list")
    assert "no key in the key directory yet" in r.stderr and "Django key" in r.stderr

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
    # a key file others may read is refused (as the endpoints refuse one)
    os.chmod(src, 0o644)
    r = s.cli("key", "add", "shared", str(src))
    assert r.returncode == 4 and "must not be readable by group or others" in r.stderr
    assert not os.path.exists(os.path.join(s.dir, "keys", "shared.key"))
    os.chmod(src, 0o600)
    assert s.cli("key", "add", "shared", str(src)).returncode == 0
    r = s.cli("key", "add", "shared", str(src))
    assert r.returncode == 1 and "already exists" in r.stderr
    short = tmp_path / "short.key"
    short.write_text("short")
    os.chmod(short, 0o600)
    r = s.cli("key", "add", "other", str(short))
    assert r.returncode == 4 and f"{short}: a key must be 32 to 512 bytes, not 5" in r.stderr
    r = s.cli("key", "add", "bad/kid", str(src))
    assert r.returncode == 2 and "expected 1 to 64 letters, digits" in r.stderr
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


def test_key_changes_refused_while_the_endpoints_cannot_load_the_directory(make_server, tmp_path):
    s = make_server(signing_key_dir="keys")
    u = s.create_user("k1user")
    k1 = s.cli_ok("key", "rotate").strip()
    time.sleep(PICKUP)
    token = s.post(REFRESH, json={"refresh": s.mint(u["pk"])["refresh"]}).json()["access"]
    assert header(token)["kid"] == k1
    k2 = s.cli_ok("key", "rotate").strip()
    time.sleep(PICKUP)
    assert status(s, token) == 200  # user-me has loaded both keys
    bad = os.path.join(s.dir, "keys", k2 + ".key")
    os.chmod(bad, 0o644)  # the endpoints now keep the keys they had
    src = tmp_path / "new.key"
    src.write_text("n" * 40)
    os.chmod(src, 0o600)
    for args in (["retire", k1], ["rotate"], ["add", "newkid", str(src)]):
        r = s.cli("key", *args)
        assert r.returncode == 4, (args, r.stderr)
        assert f"{bad} must not be readable by group or others" in r.stderr, r.stderr
        assert "nothing was changed" in r.stderr
    assert sorted(os.listdir(os.path.join(s.dir, "keys"))) == sorted([k1 + ".key", k2 + ".key", "signing"])
    time.sleep(PICKUP)
    r = s.get(ME, headers={"Authorization": "Bearer " + token})
    if s.kind in ("cgi", "lighttpd-cgi"):  # a CGI process has no keys from before: it refuses
        assert (r.status_code, r.json()["code"]) == (503, "service_unavailable"), r.text
    else:
        assert r.status_code == 200, r.text
    os.chmod(bad, 0o600)
    r = s.cli("key", "retire", k1)
    assert r.returncode == 0 and f"retired key {k1}" in r.stderr
    time.sleep(PICKUP)
    assert status(s, token) == 401


def test_key_directory_write_failure_is_a_key_directory_error(make_server, tmp_path):
    s = make_server(signing_key_dir="keys")
    s.cli_ok("key", "rotate")
    os.mkdir(os.path.join(s.dir, "keys", ".blocked.key.tmp"))  # the temporary file cannot be made
    src = tmp_path / "b.key"
    src.write_text("b" * 40)
    os.chmod(src, 0o600)
    r = s.cli("key", "add", "blocked", str(src))
    assert r.returncode == 4 and "cannot write" in r.stderr and ".blocked.key.tmp" in r.stderr


def test_kid_tokens_in_any_header_member_order(make_server):
    """PyJWT writes the header's members sorted ({"alg","kid","typ"}); the kid still selects
    the directory key, and the header is read strictly (api.html#tokens)."""
    s = make_server(signing_key_dir="keys")
    u = s.create_user("pyjwt")
    k1 = s.cli_ok("key", "rotate").strip()
    k2 = s.cli_ok("key", "rotate").strip()
    time.sleep(PICKUP)
    ours = s.post(REFRESH, json={"refresh": s.mint(u["pk"])["refresh"]}).json()["access"]
    assert header(ours)["kid"] == k2 and status(s, ours) == 200
    claims = jwt.decode(ours, key_bytes(s, k2), algorithms=["HS256"])
    for kid in (k1, k2):
        token = jwt.encode(claims, key_bytes(s, kid), algorithm="HS256", headers={"kid": kid})
        assert token.split(".")[0] == base64.urlsafe_b64encode(
            json.dumps({"alg": "HS256", "kid": kid, "typ": "JWT"}, separators=(",", ":")).encode()
        ).decode().rstrip("=")  # PyJWT's order, not ours
        assert status(s, token) == 200, kid
    payload = json.dumps(claims, separators=(",", ":"))
    refused = [
        jwt.encode(claims, key_bytes(s, k1), algorithm="HS256", headers={"kid": k2}),  # wrong key
        jwt.encode(claims, SIGNING_KEY, algorithm="HS256", headers={"kid": k1}),  # Django key
        sign_raw('{"kid":"%s","alg":"HS256","kid":"%s"}' % (k2, k1), payload, key_bytes(s, k1).decode()),
        sign_raw('{"kid":"%s","alg":"HS256","crit":["exp"],"exp":1}' % k1, payload, key_bytes(s, k1).decode()),
        sign_raw('{"kid":"%s","alg":"HS512"}' % k1, payload, key_bytes(s, k1).decode()),
        sign_raw('{"kid":"%s","alg":"none"}' % k1, payload, key_bytes(s, k1).decode()),
        sign_raw('{"kid":1,"alg":"HS256"}', payload, key_bytes(s, k1).decode()),
    ]
    for token in refused:
        assert status(s, token) == 401, token
    # a retired key's tokens stop verifying in PyJWT's order too
    k1_token = jwt.encode(claims, key_bytes(s, k1), algorithm="HS256", headers={"kid": k1})
    s.cli_ok("key", "retire", k1)
    time.sleep(PICKUP)
    assert status(s, k1_token) == 401


def test_without_a_key_directory_no_kid(server):
    u = server.create_user("plain")
    assert "kid" not in header(server.mint(u["pk"])["access"])
    r = server.cli("key", "list")
    assert r.returncode == 4 and "no `signing_key_dir`" in r.stderr
