"""token-refresh and token-verify (api.html#tokens, api.html#refresh and api.html#verify)."""

import re
import time

import pytest

from tokens_util import craft, payload_of, raw, sign_raw

INVALID = {"detail": "Token is invalid or expired", "code": "token_not_valid"}
WRONG_TYPE = {"detail": "Token has wrong type", "code": "token_not_valid"}
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture(scope="module")
def alice(server):
    user = server.create_user("alice", "Alice@Example.com", first_name="Alice")
    return {"user": user, **server.mint(user["pk"])}


def refresh(server, body, **kw):
    return server.post("/api/auth/token/refresh/", json=body, **kw)


def test_refresh_returns_new_pair_in_order(server, alice):
    r = refresh(server, {"refresh": alice["refresh"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == ["access", "refresh", "access_expiration", "refresh_expiration"]
    assert ISO.match(body["access_expiration"]) and ISO.match(body["refresh_expiration"])
    assert r.headers["Cache-Control"] == "no-store"
    access, new_refresh = payload_of(body["access"]), payload_of(body["refresh"])
    assert access["token_type"] == "access" and new_refresh["token_type"] == "refresh"
    assert access["user_id"] == alice["user"]["pk"]
    assert new_refresh["jti"] != payload_of(alice["refresh"])["jti"]
    assert access["exp"] - access["iat"] == 300
    assert new_refresh["exp"] - new_refresh["iat"] == 7 * 86400
    assert list(access) == ["token_type", "exp", "iat", "jti", "user_id"] + (
        ["sid"] if "sid" in access else [])


def test_refresh_without_rotation_omits_refresh(make_server):
    s = make_server(rotate_refresh_tokens="false")
    u = s.create_user("norot")
    r = s.post("/api/auth/token/refresh/", json={"refresh": s.mint(u["pk"])["refresh"]})
    assert r.status_code == 200
    assert list(r.json()) == ["access", "access_expiration"]


@pytest.mark.parametrize("body,expected", [
    ({}, {"refresh": ["This field is required."]}),
    ({"refresh": ""}, {"refresh": ["This field may not be blank."]}),
    ({"refresh": None}, {"refresh": ["This field may not be null."]}),
    ({"refresh": True}, {"refresh": ["Not a valid string."]}),
    ({"refresh": []}, {"refresh": ["Not a valid string."]}),
    ({"refresh": "  "}, {"refresh": ["This field may not be blank."]}),
    ({"refresh": "\t\n\r\x0b\x0c\x1c\x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000 "},
     {"refresh": ["This field may not be blank."]}),
])
def test_refresh_field_errors(server, body, expected):
    r = refresh(server, body)
    assert r.status_code == 400
    assert r.json() == expected


# ---- the token fields are read as DRF's CharField(trim_whitespace=True) reads them ----
# (checked against Debian's python3-djangorestframework: "  " is blank, " x " is "x", 123 is
# "123", True is "Not a valid string.")

TOKEN_FIELDS = [("/api/auth/token/refresh/", "refresh"), ("/api/auth/token/verify/", "token")]


@pytest.mark.parametrize("path,field", TOKEN_FIELDS)
def test_token_field_whitespace_is_trimmed(server, alice, path, field):
    for pad_left, pad_right in ((" ", " "), ("\t\n", "\r\n"), ("\xa0", "\u3000"),
                                ("\u2028", "\x85")):
        t = server.mint(alice["user"]["pk"])["refresh"]
        r = server.post(path, json={field: pad_left + t + pad_right})
        assert r.status_code == 200, (repr(pad_left), r.text)
        blank = server.post(path, json={field: pad_left + pad_right})
        assert (blank.status_code, blank.json()) == (400, {field: ["This field may not be blank."]})
    # a zero-width space is no whitespace to Python: the token is then invalid
    t = server.mint(alice["user"]["pk"])["refresh"]
    assert_401(server.post(path, json={field: t + "\u200b"}), INVALID)
    # form bodies are read the same way
    t = server.mint(alice["user"]["pk"])["refresh"]
    assert server.post(path, data={field: " " + t + " "}).status_code == 200


@pytest.mark.parametrize("path,field", TOKEN_FIELDS)
def test_token_field_number_is_an_invalid_token(server, path, field):
    for value in (123, -1, 1.5, 0, 2 ** 62):
        assert_401(server.post(path, json={field: value}), INVALID)
    r = server.post(path, json={field: False})
    assert (r.status_code, r.json()) == (400, {field: ["Not a valid string."]})


def assert_401(r, body):
    assert r.status_code == 401, r.text
    assert r.json() == body
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_refresh_with_access_token_is_wrong_type(server, alice):
    assert_401(refresh(server, {"refresh": alice["access"]}), WRONG_TYPE)


def bad_tokens(user_id):
    now = int(time.time())
    good_header = '{"alg":"HS256","typ":"JWT"}'
    payload = ('{"token_type":"refresh","exp":%d,"iat":%d,"jti":"%s","user_id":"%s"}'
               % (now + 60, now, "a" * 32, user_id))
    return {
        "garbage": "not-a-token",
        "expired": craft("refresh", user_id, lifetime=-10),
        "wrong-key": craft("refresh", user_id, key="another-key-another-key-another-key!"),
        "alg-none": raw('{"alg":"none","typ":"JWT"}', payload, b"").rstrip("."),
        "alg-none-empty-sig": raw('{"alg":"none","typ":"JWT"}', payload, b""),
        "hs512": raw('{"alg":"HS512","typ":"JWT"}', payload),
        "dup-key-payload": sign_raw(good_header, payload[:-1] + ',"user_id":"someone-else"}'),
        "dup-key-header": sign_raw('{"alg":"HS256","alg":"HS256","typ":"JWT"}', payload),
        "crit-header": sign_raw('{"alg":"HS256","typ":"JWT","crit":["exp"]}', payload),
        "exp-string": sign_raw(good_header, payload.replace('"exp":%d' % (now + 60), '"exp":"%d"' % (now + 60))),
        "exp-float": sign_raw(good_header, payload.replace('"exp":%d' % (now + 60), '"exp":%d.5' % (now + 60))),
        "no-exp": sign_raw(good_header, payload.replace('"exp":%d,' % (now + 60), "")),
        "no-jti": sign_raw(good_header, payload.replace('"jti":"%s",' % ("a" * 32), "")),
        "iat-future": craft("refresh", user_id, iat=now + 3600),
        "no-token-type": craft("refresh", user_id, token_type=None),
        "padded": craft("refresh", user_id) + "=",
        "too-long": craft("refresh", user_id, filler="x" * 9000),
        "four-parts": craft("refresh", user_id) + ".x",
    }


@pytest.mark.parametrize("case", sorted(bad_tokens("x")))
def test_refresh_rejects_bad_tokens(server, alice, case):
    token = bad_tokens(alice["user"]["pk"])[case]
    assert_401(refresh(server, {"refresh": token}), INVALID)


def test_refresh_of_unknown_user(server):
    assert_401(refresh(server, {"refresh": craft("refresh", "no-such-user")}),
               {"detail": "User not found", "code": "user_not_found"})


def test_refresh_of_inactive_user(server):
    u = server.create_user("sleepy")
    tokens = server.mint(u["pk"])
    server.cli_ok("user", "set-active", u["pk"], "false")
    assert_401(refresh(server, {"refresh": tokens["refresh"]}),
               {"detail": "User is inactive", "code": "user_inactive"})


def test_refresh_of_deleted_user(server):
    u = server.create_user("gone")
    tokens = server.mint(u["pk"])
    server.cli_ok("user", "delete", u["pk"])
    assert_401(refresh(server, {"refresh": tokens["refresh"]}),
               {"detail": "User not found", "code": "user_not_found"})


def test_verify_accepts_access_and_refresh(server, alice):
    for t in (alice["access"], alice["refresh"]):
        r = server.post("/api/auth/token/verify/", json={"token": t})
        assert r.status_code == 200
        assert r.content == b"{}"


def test_verify_missing_field(server):
    r = server.post("/api/auth/token/verify/", json={})
    assert r.status_code == 400
    assert r.json() == {"token": ["This field is required."]}


@pytest.mark.parametrize("case", ["garbage", "expired", "wrong-key", "alg-none", "dup-key-payload"])
def test_verify_rejects(server, alice, case):
    token = bad_tokens(alice["user"]["pk"])[case]
    assert_401(server.post("/api/auth/token/verify/", json={"token": token}), INVALID)


def test_leeway_accepts_recently_expired(make_server):
    s = make_server(leeway="60s")
    u = s.create_user("lee")
    r = s.post("/api/auth/token/refresh/", json={"refresh": craft("refresh", u["pk"], lifetime=-10)})
    assert r.status_code == 200


def test_audience_and_issuer_when_configured(make_server):
    s = make_server(jwt_audience="my-api", jwt_issuer="https://auth.example")
    u = s.create_user("aud")
    tokens = s.mint(u["pk"])
    p = payload_of(tokens["access"])
    assert p["aud"] == "my-api" and p["iss"] == "https://auth.example"
    assert s.post("/api/auth/token/verify/", json={"token": tokens["access"]}).status_code == 200
    plain = craft("access", u["pk"])
    assert s.post("/api/auth/token/verify/", json={"token": plain}).status_code == 401
