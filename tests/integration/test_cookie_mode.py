"""Cookie mode against real clients' faults (api.html#cookies): login CSRF on every request
that would set our cookies, dead cookies expired on every refusal, and a blank body `refresh`
falling back to the cookie."""

import http.cookiejar
import json

import pytest

from tokens_util import craft

ORIGIN = "http://127.0.0.1:3000"
CSRF = {"detail": "CSRF Failed: Origin checking failed."}
BLACKLISTED = {"detail": "Token is blacklisted", "code": "token_not_valid"}
INVALID = {"detail": "Token is invalid or expired", "code": "token_not_valid"}
REFRESH = "/api/auth/token/refresh/"
LOGOUT = "/api/auth/logout/"
LOGIN = "/api/social/login/google/"

# Hostile headers of a cross-site request: each must be refused where cookies would be set.
HOSTILE = [
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Origin": "http://127.0.0.1:3000.evil.example"},
    {"Origin": "https://evil.example", "Referer": ORIGIN + "/"},
    {"Referer": "https://evil.example/page"},
    {"Referer": "null"},
]
# Requests that are served: an allowed Origin or Referer, or neither header (server side).
FRIENDLY = [{}, {"Origin": ORIGIN}, {"Referer": ORIGIN + "/signin?next=/"},
            {"Origin": ORIGIN, "Referer": "https://evil.example/"}]


@pytest.fixture(scope="module")
def cs(tmp_path_factory):
    from sa_server import Server
    s = Server(tmp_path_factory.mktemp("cookiemode"), cookie_mode="true", cookie_secure="false",
               cookie_domain="127.0.0.1")
    # Tests send their cookies explicitly: the client keeps none of the answers' cookies.
    s.session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    yield s
    s.stop()


def set_cookies(r):
    return r.raw.headers.getlist("Set-Cookie")


def assert_cookies_expired(r):
    """Both cookies expired, with the Path and Domain they were set with."""
    cookies = sorted(set_cookies(r))
    assert len(cookies) == 2, cookies
    access, refresh = [c for c in cookies if c.startswith("sa-access=;")], \
        [c for c in cookies if c.startswith("sa-refresh=;")]
    assert len(access) == 1 and len(refresh) == 1, cookies
    for c, path in ((access[0], "/"), (refresh[0], "/api/auth/")):
        assert f"; Path={path};" in c and "Max-Age=0" in c and "Domain=127.0.0.1" in c, c


def cookie_header(access=None, refresh=None):
    parts = []
    if access:
        parts.append("sa-access=" + access)
    if refresh:
        parts.append("sa-refresh=" + refresh)
    return {"Cookie": "; ".join(parts)}


def sessions_of(s, user):
    return [json.loads(line) for line in s.cli_ok("session", "list", user["pk"]).splitlines()]


# ---- point 2: login CSRF ----

@pytest.mark.parametrize("headers", HOSTILE)
def test_login_csrf_refused(fake_google, make_server, headers):
    s = make_server(cookie_mode="true", cookie_secure="false", **fake_google.settings())
    r = s.post(LOGIN, json={"id_token": fake_google.mint_id_token(sub="5001")}, headers=headers)
    assert r.status_code == 403 and r.json() == CSRF
    assert set_cookies(r) == []
    assert s.cli_ok("user", "list") == ""  # nobody was signed in or created


def test_login_friendly_requests_served(fake_google, make_server):
    s = make_server(cookie_mode="true", cookie_secure="false", **fake_google.settings())
    for i, headers in enumerate(FRIENDLY):
        r = s.post(LOGIN, json={"id_token": fake_google.mint_id_token(sub="6001")}, headers=headers)
        assert r.status_code == 200, (headers, r.text)
        names = sorted(c.split("=")[0] for c in set_cookies(r))
        assert names == ["sa-access", "sa-refresh"]


def test_login_without_cookie_mode_ignores_origin(fake_google, make_server):
    s = make_server(**fake_google.settings())
    r = s.post(LOGIN, json={"id_token": fake_google.mint_id_token()},
               headers={"Origin": "https://evil.example"})
    assert r.status_code == 200 and set_cookies(r) == []


@pytest.mark.parametrize("headers", HOSTILE)
def test_body_token_refresh_and_logout_csrf_refused(cs, headers):
    u = cs.create_user("csrf%d" % HOSTILE.index(headers))
    t = cs.mint(u["pk"])
    before = sessions_of(cs, u)
    for path in (REFRESH, LOGOUT):
        r = cs.post(path, json={"refresh": t["refresh"]}, headers=headers)
        assert (r.status_code, r.json()) == (403, CSRF), path
        assert set_cookies(r) == []
    assert sessions_of(cs, u) == before  # nothing rotated, nothing revoked
    r = cs.post(REFRESH, json={"refresh": t["refresh"]})  # the token is still good
    assert r.status_code == 200


def test_body_token_friendly_requests_served(cs):
    u = cs.create_user("csrffriendly")
    for headers in FRIENDLY:
        t = cs.mint(u["pk"])
        r = cs.post(REFRESH, json={"refresh": t["refresh"]}, headers=headers)
        assert r.status_code == 200, (headers, r.text)
        assert len(set_cookies(r)) == 2
        r = cs.post(LOGOUT, json={"refresh": t["refresh"]}, headers=headers)
        assert r.status_code == 200, (headers, r.text)
        assert_cookies_expired(r)


def test_body_token_without_cookie_mode_ignores_origin(server):
    u = server.create_user("nocookiecsrf")
    t = server.mint(u["pk"])
    r = server.post(REFRESH, json={"refresh": t["refresh"]}, headers={"Origin": "null"})
    assert r.status_code == 200 and set_cookies(r) == []


# ---- point 6: a refused cookie token expires both cookies ----

def revoked_pair(s, name):
    u = s.create_user(name)
    t = s.mint(u["pk"])
    assert s.post(LOGOUT, json={"refresh": t["refresh"]}).status_code == 200
    return u, t


def test_refused_refresh_cookie_expires_cookies(cs):
    u, dead = revoked_pair(cs, "deadrefresh")
    live = cs.mint(u["pk"])
    cases = [
        (dead["refresh"], BLACKLISTED),
        ("garbage", INVALID),
        (craft("refresh", u["pk"], lifetime=-10, sid="0" * 32), INVALID),
        (live["access"], {"detail": "Token has wrong type", "code": "token_not_valid"}),
    ]
    for token, answer in cases:
        for path in (REFRESH, LOGOUT):
            r = cs.post(path, headers={"Origin": ORIGIN, **cookie_header(refresh=token)})
            assert (r.status_code, r.json()) == (401, answer), (path, r.text)
            assert_cookies_expired(r)
    # with a blank body token too (the cookie is still what was refused)
    r = cs.post(REFRESH, json={"refresh": ""},
                headers={"Origin": ORIGIN, **cookie_header(refresh=dead["refresh"])})
    assert r.status_code == 401
    assert_cookies_expired(r)


def test_refused_access_cookie_expires_cookies(cs):
    u, dead = revoked_pair(cs, "deadaccess")
    gone = cs.create_user("deadaccessgone")
    gone_tokens = cs.mint(gone["pk"])
    sleepy = cs.create_user("deadaccesssleepy")
    sleepy_tokens = cs.mint(sleepy["pk"])
    cs.cli_ok("user", "delete", gone["pk"])
    cs.cli_ok("user", "set-active", sleepy["pk"], "false")
    for token in (dead["access"], "garbage", craft("access", u["pk"], lifetime=-10, sid="1" * 32),
                  gone_tokens["access"], sleepy_tokens["access"]):
        for method, path in (("GET", "/api/auth/user/"), ("GET", "/api/posts/"),
                             ("PATCH", "/api/auth/user/")):
            r = cs.request(method, path, json={"first_name": "x"} if method == "PATCH" else None,
                           headers={"Origin": ORIGIN, **cookie_header(access=token)})
            assert r.status_code == 401, (path, r.text)
            assert_cookies_expired(r)


def test_refusals_not_about_a_cookie_set_no_cookie(cs):
    u, dead = revoked_pair(cs, "deadnocookie")
    live = cs.mint(u["pk"])
    # a refused body token, a refused Bearer header, a verify: no cookie came in
    r = cs.post(REFRESH, json={"refresh": dead["refresh"]})
    assert r.status_code == 401 and set_cookies(r) == []
    r = cs.get("/api/auth/user/", headers={"Authorization": "Bearer " + dead["access"],
                                           **cookie_header(access=live["access"])})
    assert r.status_code == 401 and set_cookies(r) == []
    r = cs.post("/api/auth/token/verify/", json={"token": dead["access"]},
                headers=cookie_header(access=dead["access"], refresh=dead["refresh"]))
    assert r.status_code == 401 and set_cookies(r) == []
    # a CSRF refusal says nothing about the token: the cookies stay (no forced logout)
    r = cs.post(REFRESH, headers={"Origin": "https://evil.example",
                                  **cookie_header(refresh=live["refresh"])})
    assert r.status_code == 403 and set_cookies(r) == []
    # a served cookie request does not expire anything either
    r = cs.get("/api/auth/user/", headers=cookie_header(access=live["access"]))
    assert r.status_code == 200 and set_cookies(r) == []


# ---- point 7: a blank or null body `refresh` falls back to the cookie ----

@pytest.mark.parametrize("body", [{"refresh": ""}, {"refresh": None}, {}, {"refresh": "", "scope": "local"}])
def test_blank_body_refresh_uses_cookie(cs, body):
    u = cs.create_user("blank%d" % len(json.dumps(body)))
    t = cs.mint(u["pk"])
    headers = {"Origin": ORIGIN, **cookie_header(refresh=t["refresh"])}
    r = cs.post(REFRESH, json=body, headers=headers)
    assert r.status_code == 200, r.text
    new_refresh = [c for c in set_cookies(r) if c.startswith("sa-refresh=")][0]
    new_refresh = new_refresh.split(";")[0].split("=", 1)[1]
    headers = {"Origin": ORIGIN, **cookie_header(refresh=new_refresh)}
    r = cs.post(LOGOUT, json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert_cookies_expired(r)
    assert all(s["revoked"] for s in sessions_of(cs, u))


def test_blank_form_refresh_uses_cookie(cs):
    u = cs.create_user("blankform")
    t = cs.mint(u["pk"])
    r = cs.post(REFRESH, data={"refresh": ""},
                headers={"Origin": ORIGIN, **cookie_header(refresh=t["refresh"])})
    assert r.status_code == 200, r.text


def test_blank_body_refresh_without_cookie_keeps_drf_messages(cs, server):
    for s in (cs, server):
        for path in (REFRESH, LOGOUT):
            for body, message in (({"refresh": ""}, "This field may not be blank."),
                                  ({"refresh": None}, "This field may not be null."),
                                  ({}, "This field is required.")):
                r = s.post(path, json=body, headers={"Origin": ORIGIN})
                assert (r.status_code, r.json()) == (400, {"refresh": [message]}), (path, body)
    # without cookie mode a cookie is no token at all
    u = server.create_user("blanknocookiemode")
    t = server.mint(u["pk"])
    r = server.post(REFRESH, json={"refresh": ""}, headers=cookie_header(refresh=t["refresh"]))
    assert (r.status_code, r.json()) == (400, {"refresh": ["This field may not be blank."]})


def test_non_string_body_refresh_is_not_blank(cs):
    u = cs.create_user("blanktyped")
    t = cs.mint(u["pk"])
    for value in (False, [], {}):
        r = cs.post(REFRESH, json={"refresh": value},
                    headers={"Origin": ORIGIN, **cookie_header(refresh=t["refresh"])})
        assert (r.status_code, r.json()) == (400, {"refresh": ["Not a valid string."]}), value
    # a number is a string to DRF's CharField ("0"): a body token, and an invalid one
    r = cs.post(REFRESH, json={"refresh": 0},
                headers={"Origin": ORIGIN, **cookie_header(refresh=t["refresh"])})
    assert (r.status_code, r.json()) == (401, INVALID), r.text
    assert set_cookies(r) == []  # the cookie was not the refused credential


@pytest.mark.parametrize("blank", ["  ", "\t\n", "\u3000"])
def test_whitespace_body_refresh_uses_cookie(cs, blank):
    """Blank after CharField's trim is blank: cookie mode falls back to the cookie."""
    u = cs.create_user("blankspace%d" % ord(blank[-1]))
    t = cs.mint(u["pk"])
    r = cs.post(REFRESH, json={"refresh": blank},
                headers={"Origin": ORIGIN, **cookie_header(refresh=t["refresh"])})
    assert r.status_code == 200, r.text
    r = cs.post(REFRESH, json={"refresh": blank}, headers={"Origin": ORIGIN})
    assert (r.status_code, r.json()) == (400, {"refresh": ["This field may not be blank."]})


# ---- review F4: the API's own origin is friendly without being listed ----

def test_same_origin_requests_are_friendly(fake_google, make_server):
    """Origin (or Referer) equal to the request's own scheme://Host passes, as with Django's
    CsrfViewMiddleware; near misses and a cross-site Origin with our Host do not."""
    s = make_server(cookie_mode="true", cookie_secure="false", **fake_google.settings())
    own = s.base  # http://127.0.0.1:PORT, and requests sends Host: 127.0.0.1:PORT
    for i, headers in enumerate(({"Origin": own}, {"Referer": own + "/signin"},
                                 {"Origin": own, "Referer": "https://evil.example/"})):
        r = s.post(LOGIN, json={"id_token": fake_google.mint_id_token(sub=str(7000 + i))},
                   headers=headers)
        assert r.status_code == 200, (headers, r.text)
        t = s.mint(r.json()["user"]["pk"])
        r = s.post(REFRESH, json={}, headers={**headers, **cookie_header(refresh=t["refresh"])})
        assert r.status_code == 200, (headers, r.text)
    host = own.split("://")[1]
    misses = [{"Origin": "https://" + host}, {"Origin": own + "/"}, {"Origin": own.upper()},
              {"Origin": "https://evil.example"}, {"Referer": "https://evil.example/x"},
              {"Origin": "null"}, {"Origin": "http://"}, {"Origin": "http://127.0.0.1:1"}]
    if s.kind != "nginx":  # Debian's nginx passes Host without its port ($host): no near miss
        misses.append({"Origin": "http://evil.example", "Host": "evil.example:1"})
    for headers in misses:
        r = s.post(LOGIN, json={"id_token": fake_google.mint_id_token(sub="7999")},
                   headers=headers)
        assert (r.status_code, r.json()) == (403, CSRF), headers
        assert set_cookies(r) == []
    assert "7999" not in s.cli_ok("user", "list")
