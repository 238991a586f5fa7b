"""Issue 9 point 6: answers that depend on credentials are never stored by a cache nor handed
to another user (Cache-Control: no-store, Vary: Authorization / Cookie), and every answer
varies with Origin whenever CORS is configured (api.html#conventions and api.html#cors)."""

import pytest

ORIGIN = "http://127.0.0.1:3000"


def vary(r):
    return [v.strip() for v in r.headers.get("Vary", "").split(",") if v.strip()]


@pytest.fixture(scope="module")
def bearer(server):
    """(server, access token) in Bearer mode, CORS configured for ORIGIN."""
    u = server.create_user("cachey")
    return server, server.mint(u["pk"])["access"]


@pytest.mark.parametrize("path", ["/api/auth/user/", "/api/posts/"])
def test_personal_answer_is_private(bearer, path):
    s, access = bearer
    r = s.get(path, headers={"Authorization": "Bearer " + access, "Origin": ORIGIN})
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"
    assert vary(r) == ["Origin", "Authorization"]
    # The refusals of the same resource vary the same way: a cache keyed without
    # Authorization must not serve them to a request that carries a token.
    for headers in ({}, {"Authorization": "Bearer x.y.z"}, {"Authorization": "Basic abc"}):
        r = s.get(path, headers=headers)
        assert r.status_code == 401
        assert r.headers["Cache-Control"] == "no-store"
        assert vary(r) == ["Origin", "Authorization"]


def test_patch_answer_is_private(bearer):
    s, access = bearer
    r = s.request("PATCH", "/api/auth/user/", json={"first_name": "C"},
                  headers={"Authorization": "Bearer " + access})
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"
    assert vary(r) == ["Origin", "Authorization"]


def test_any_answer_to_credentials_is_private(bearer):
    s, access = bearer
    r = s.get("/api/health/", headers={"Authorization": "Bearer " + access})
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    assert "Authorization" in vary(r)


def test_anonymous_answer_is_not_marked_private(server):
    r = server.get("/api/health/")
    assert r.status_code == 200
    assert "Cache-Control" not in r.headers
    assert vary(r) == ["Origin"]


@pytest.mark.parametrize("origin", [None, ORIGIN, "https://evil.example", "null"])
def test_vary_origin_whatever_the_origin(server, origin):
    headers = {"Origin": origin} if origin else {}
    r = server.post("/api/auth/token/verify/", json={"token": "x"}, headers=headers)
    assert r.status_code == 401
    assert vary(r) == ["Origin"]
    assert ("Access-Control-Allow-Origin" in r.headers) == (origin == ORIGIN)
    r = server.request("OPTIONS", "/api/auth/user/", headers=dict(
        headers, **{"Access-Control-Request-Method": "GET"}))
    assert r.status_code == 200 and vary(r) == ["Origin"]


def test_no_cors_no_vary_origin(make_server):
    s = make_server(cors_allowed_origins=None)
    r = s.get("/api/health/", headers={"Origin": ORIGIN})
    assert "Vary" not in r.headers and "Access-Control-Allow-Origin" not in r.headers


def test_cookie_mode_personal_answer_varies_with_cookie(make_server):
    s = make_server(cookie_mode="true", cookie_secure="false")
    u = s.create_user("cookiecache")
    pair = s.mint(u["pk"])
    r = s.get("/api/auth/user/", headers={"Cookie": "sa-access=" + pair["access"]})
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"
    assert vary(r) == ["Origin", "Authorization", "Cookie"]
    # Without the cookie: the 401 varies the same way.
    r = s.get("/api/auth/user/")
    assert r.status_code == 401
    assert r.headers["Cache-Control"] == "no-store"
    assert vary(r) == ["Origin", "Authorization", "Cookie"]
    # The refresh and logout answers read the cookie too.
    r = s.post("/api/auth/token/refresh/", headers={"Cookie": "sa-refresh=" + pair["refresh"],
                                                   "Origin": ORIGIN})
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"
    assert "Cookie" in vary(r)


# Review of issue 9, F7: the token endpoints take a credential in the body (a token, a refresh
# token, a Google code), so every answer of theirs is no-store, whatever its status and
# whether or not an Authorization header or cookie came along.
TOKEN_POSTS = [
    ("/api/auth/token/verify/", lambda p: {"token": p["access"]}),
    ("/api/auth/token/verify/", lambda p: {"token": "x"}),
    ("/api/auth/token/refresh/", lambda p: {"refresh": p["refresh"]}),
    ("/api/auth/token/refresh/", lambda p: {"refresh": "bad"}),
    ("/api/auth/logout/", lambda p: {"refresh": p["refresh"]}),
    ("/api/social/login/google/", lambda p: {"access_token": "ya29.bad"}),
    ("/api/social/login/google/", lambda p: {}),
]


@pytest.mark.parametrize("mode", ["bearer", "cookie"])
def test_token_endpoint_answers_are_no_store(make_server, mode):
    extra = {"cookie_mode": "true", "cookie_secure": "false"} if mode == "cookie" else {}
    s = make_server(**extra)
    u = s.create_user("bodycred-" + mode)
    for path, body in TOKEN_POSTS:
        r = s.post(path, json=body(s.mint(u["pk"])))
        assert r.status_code != 500, (path, r.text)
        assert r.headers.get("Cache-Control") == "no-store", (path, r.status_code, r.headers)
    # A method the endpoint refuses is still an answer of that endpoint.
    r = s.get("/api/auth/token/verify/")
    assert r.status_code == 405 and r.headers.get("Cache-Control") == "no-store"
