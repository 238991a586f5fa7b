"""Sessions, rotation with reuse detection, logout scopes, cookie mode (api.html#sessions, api.html#cookies and api.html#logout)."""

import concurrent.futures
import time

import pytest
import requests

from tokens_util import craft, payload_of

BLACKLISTED = {"detail": "Token is blacklisted", "code": "token_not_valid"}
ORIGIN = "http://127.0.0.1:3000"


def refresh(s, token):
    return s.post("/api/auth/token/refresh/", json={"refresh": token})


def me(s, access):
    return s.get("/api/auth/user/", headers={"Authorization": "Bearer " + access})


def test_rotation_chain(server):
    u = server.create_user("chain")
    tokens = server.mint(u["pk"])
    sid = payload_of(tokens["refresh"])["sid"]
    assert payload_of(tokens["access"])["sid"] == sid and len(sid) == 32
    current = tokens["refresh"]
    seen = {current}
    for _ in range(5):
        r = refresh(server, current)
        assert r.status_code == 200, r.text
        current = r.json()["refresh"]
        assert current not in seen and payload_of(current)["sid"] == sid
        seen.add(current)
        assert me(server, r.json()["access"]).status_code == 200


def test_grace_window_returns_the_same_successor(server):
    u = server.create_user("twotabs")
    first = server.mint(u["pk"])["refresh"]
    a, b = refresh(server, first), refresh(server, first)
    assert a.status_code == b.status_code == 200
    assert a.json()["refresh"] == b.json()["refresh"]
    assert a.json()["access"] != b.json()["access"]  # a fresh access token each time
    assert refresh(server, a.json()["refresh"]).status_code == 200


def test_twenty_parallel_refreshes_of_one_token(make_server):
    s = make_server(procs=2)
    u = s.create_user("parallel")
    token = s.mint(u["pk"])["refresh"]

    def one(_):
        return requests.post(s.url("/api/auth/token/refresh/"), json={"refresh": token}, timeout=30)

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(one, range(20)))
    assert [r.status_code for r in answers] == [200] * 20, [r.text for r in answers]
    successors = {r.json()["refresh"] for r in answers}
    assert len(successors) == 1
    r = refresh(s, successors.pop())  # the session survived
    assert r.status_code == 200


def test_reuse_after_grace_revokes_the_session(make_server):
    s = make_server(reuse_grace="1s")
    u = s.create_user("thief")
    first = s.mint(u["pk"])
    second = refresh(s, first["refresh"]).json()
    third = refresh(s, second["refresh"]).json()
    assert me(s, third["access"]).status_code == 200
    time.sleep(2.2)
    r = refresh(s, second["refresh"])  # replaced, and the grace window is over: reuse
    assert r.status_code == 401 and r.json() == BLACKLISTED
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    # the whole session is gone: its newest refresh token and its access tokens too
    assert refresh(s, third["refresh"]).json() == BLACKLISTED
    for access in (first["access"], third["access"]):
        r = me(s, access)
        assert r.status_code == 401
        assert r.json()["messages"][0]["message"] == "Token is blacklisted"
        assert s.get("/api/posts/", headers={"Authorization": "Bearer " + access}).status_code == 401
    r = s.post("/api/auth/token/verify/", json={"token": third["access"]})
    assert r.status_code == 401 and r.json() == BLACKLISTED


def test_older_token_is_reuse_even_within_grace(server):
    u = server.create_user("older")
    t1 = server.mint(u["pk"])["refresh"]
    t2 = refresh(server, t1).json()["refresh"]
    t3 = refresh(server, t2).json()["refresh"]
    assert refresh(server, t1).json() == BLACKLISTED  # two generations back
    assert refresh(server, t3).json() == BLACKLISTED


def three_sessions(s, name):
    u = s.create_user(name)
    return u, [s.mint(u["pk"]) for _ in range(3)]


def alive(s, tokens):
    return me(s, tokens["access"]).status_code == 200


def logout(s, token, scope=None, **kw):
    body = {"refresh": token}
    if scope:
        body["scope"] = scope
    return s.post("/api/auth/logout/", json=body, **kw)


@pytest.mark.parametrize("scope,expected", [
    (None, [False, True, True]),
    ("local", [False, True, True]),
    ("others", [True, False, False]),
    ("global", [False, False, False]),
])
def test_logout_scopes(server, scope, expected):
    u, sessions = three_sessions(server, "scope" + (scope or "default"))
    r = logout(server, sessions[0]["refresh"], scope)
    assert r.status_code == 200 and r.json() == {"detail": "Successfully logged out."}
    assert [alive(server, t) for t in sessions] == expected
    for t, ok in zip(sessions, expected):
        assert (refresh(server, t["refresh"]).status_code == 200) == ok


def test_failed_logouts_write_nothing(server):
    u, sessions = three_sessions(server, "nologout")
    before = server.cli_ok("session", "list", u["pk"])
    cases = [
        ({}, 400, {"refresh": ["This field is required."]}),
        ({"refresh": "garbage"}, 401, {"detail": "Token is invalid or expired", "code": "token_not_valid"}),
        ({"refresh": sessions[0]["access"]}, 401, {"detail": "Token has wrong type", "code": "token_not_valid"}),
        ({"refresh": sessions[0]["refresh"], "scope": "everything"}, 400,
         {"scope": ['"everything" is not a valid choice.']}),
        ({"refresh": craft("refresh", u["pk"], lifetime=-5, sid="0" * 32)}, 401,
         {"detail": "Token is invalid or expired", "code": "token_not_valid"}),
    ]
    for body, status, answer in cases:
        r = server.post("/api/auth/logout/", json=body)
        assert (r.status_code, r.json()) == (status, answer)
    assert server.cli_ok("session", "list", u["pk"]) == before
    assert all(alive(server, t) for t in sessions)


def test_logout_of_revoked_session_is_blacklisted(server):
    u, sessions = three_sessions(server, "twice")
    assert logout(server, sessions[0]["refresh"]).status_code == 200
    r = logout(server, sessions[0]["refresh"])
    assert r.status_code == 401 and r.json() == BLACKLISTED


def test_cli_session_list_and_revoke(server):
    u, sessions = three_sessions(server, "admin")
    listed = server.cli_ok("session", "list", u["pk"]).splitlines()
    assert len(listed) == 3 and all('"revoked":false' in line for line in listed)
    sid = payload_of(sessions[1]["refresh"])["sid"]
    server.cli_ok("session", "revoke", sid)
    assert [alive(server, t) for t in sessions] == [True, False, True]
    server.cli_ok("session", "revoke", "--all", u["username"])
    assert not any(alive(server, t) for t in sessions)
    r = server.cli("session", "revoke", "f" * 32)
    assert r.returncode == 3 and "no session" in r.stderr


def test_refresh_refuses_deleted_and_disabled_users(server):
    u1, s1 = three_sessions(server, "willgo")
    u2, s2 = three_sessions(server, "willsleep")
    server.cli_ok("user", "delete", u1["pk"])
    server.cli_ok("user", "set-active", u2["pk"], "false")
    r = refresh(server, s1[0]["refresh"])
    assert r.status_code == 401 and r.json() == {"detail": "User not found", "code": "user_not_found"}
    r = refresh(server, s2[0]["refresh"])
    assert r.status_code == 401 and r.json() == {"detail": "User is inactive", "code": "user_inactive"}


def test_django_token_without_sid_gets_a_session(server):
    u = server.create_user("fromdjango")
    r = refresh(server, craft("refresh", u["pk"]))
    assert r.status_code == 200
    assert len(payload_of(r.json()["refresh"])["sid"]) == 32
    assert len(server.cli_ok("session", "list", u["pk"]).splitlines()) == 1


def test_expired_sessions_are_purged_by_traffic(make_server):
    s = make_server(refresh_token_lifetime="2s", access_token_lifetime="1s")
    u = s.create_user("shortlived")
    for _ in range(40):
        s.mint(u["pk"])
    assert s.cli_ok("session", "count").strip() == "40"
    time.sleep(3)
    count = None
    for _ in range(20):
        for _ in range(64):
            s.get("/api/health/")
        count = s.cli_ok("session", "count").strip()
        if count == "0":
            break
    assert count == "0"


# ---- cookie mode ----

@pytest.fixture(scope="module")
def cookie_server(tmp_path_factory):
    from sa_server import Server
    s = Server(tmp_path_factory.mktemp("cookies"), cookie_mode="true", cookie_secure="false",
               cookie_samesite="Strict", cookie_domain="127.0.0.1")
    yield s
    s.stop()


def set_cookies(r):
    return r.raw.headers.getlist("Set-Cookie")


def test_cookie_mode_end_to_end(cookie_server):
    s = cookie_server
    u = s.create_user("cookies")
    first = s.mint(u["pk"])
    jar = requests.Session()
    headers = {"Origin": ORIGIN}
    # refresh from the cookie alone
    jar.cookies.set("sa-refresh", first["refresh"], domain="127.0.0.1", path="/api/auth/")
    r = jar.post(s.url("/api/auth/token/refresh/"), headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "refresh" not in body and list(body) == ["access", "access_expiration", "refresh_expiration"]
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
    cookies = set_cookies(r)
    access_cookie = [c for c in cookies if c.startswith("sa-access=")][0]
    refresh_cookie = [c for c in cookies if c.startswith("sa-refresh=")][0]
    assert "; Path=/;" in access_cookie and "HttpOnly" in access_cookie
    assert "; Path=/api/auth/;" in refresh_cookie and "HttpOnly" in refresh_cookie
    assert "SameSite=Strict" in refresh_cookie and "Domain=127.0.0.1" in refresh_cookie
    assert "Secure" not in refresh_cookie
    assert "Max-Age=300" in access_cookie
    # the browser's jar now holds the new cookies: user-me by cookie
    r = jar.get(s.url("/api/auth/user/"), timeout=10)
    assert r.status_code == 200 and r.json()["username"] == "cookies"
    # a cookie-authenticated write needs an allowed Origin (or Referer)
    r = jar.patch(s.url("/api/auth/user/"), json={"first_name": "C"}, timeout=10)
    assert r.status_code == 403 and r.json() == {"detail": "CSRF Failed: Origin checking failed."}
    r = jar.patch(s.url("/api/auth/user/"), json={"first_name": "C"},
                  headers={"Origin": "https://evil.example"}, timeout=10)
    assert r.status_code == 403
    r = jar.patch(s.url("/api/auth/user/"), json={"first_name": "C"},
                  headers={"Referer": ORIGIN + "/profile"}, timeout=10)
    assert r.status_code == 200 and r.json()["first_name"] == "C"
    r = jar.post(s.url("/api/auth/token/refresh/"), timeout=10)
    assert r.status_code == 403
    # logout reads the cookie and clears both
    r = jar.post(s.url("/api/auth/logout/"), headers=headers, timeout=10)
    assert r.status_code == 200
    cleared = set_cookies(r)
    assert any(c.startswith("sa-access=;") and "Max-Age=0" in c for c in cleared)
    assert any(c.startswith("sa-refresh=;") and "Max-Age=0" in c for c in cleared)
    r = s.get("/api/auth/user/", headers={"Cookie": "sa-access=" + body["access"]})
    assert r.status_code == 401


def test_cookie_mode_bearer_header_still_works_without_csrf(cookie_server):
    s = cookie_server
    u = s.create_user("bearerincookiemode")
    t = s.mint(u["pk"])
    r = s.request("PATCH", "/api/auth/user/", json={"last_name": "B"},
                  headers={"Authorization": "Bearer " + t["access"]})
    assert r.status_code == 200


def test_cookie_mode_refuses_wildcard_origins(tmp_path):
    import os
    import subprocess
    from sa_server import ROOT, SIGNING_KEY
    conf = tmp_path / "c.conf"
    conf.write_text(f"db_home = {tmp_path}/db\nsigning_key = {SIGNING_KEY}\n"
                    "cookie_mode = true\ncors_allowed_origins = *\n")
    conf.chmod(0o600)
    r = subprocess.run([os.path.join(ROOT, "bin", "socialauth"), "--config", str(conf), "init"],
                       capture_output=True, text=True)
    assert r.returncode == 4 and "cookie_mode" in r.stderr
