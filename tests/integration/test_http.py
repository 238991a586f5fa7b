"""What every endpoint shares (api.html#endpoints, api.html#cors and api.html#errors): methods, bodies, headers, CORS."""

import json

import pytest

ENDPOINTS = {
    "/api/auth/token/refresh/": "POST, OPTIONS",
    "/api/auth/token/verify/": "POST, OPTIONS",
    "/api/auth/user/": "GET, PUT, PATCH, HEAD, OPTIONS",
    "/api/health/": "GET, HEAD, OPTIONS",
    "/api/posts/": "GET, HEAD, OPTIONS",
}
SECURITY = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
            "X-Frame-Options": "DENY"}


def assert_json(r, status, body):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert r.content == json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    for k, v in SECURITY.items():
        assert r.headers[k] == v


@pytest.mark.parametrize("path,allow", ENDPOINTS.items())
def test_wrong_method_is_405_with_allow(server, path, allow):
    r = server.request("DELETE", path)
    assert_json(r, 405, {"detail": 'Method "DELETE" not allowed.'})
    assert r.headers["Allow"] == allow


@pytest.mark.parametrize("path", ENDPOINTS)
def test_path_works_without_trailing_slash(server, path):
    r = server.request("OPTIONS", path.rstrip("/"))
    assert r.status_code == 200
    assert r.headers["Allow"] == ENDPOINTS[path]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_preflight_from_allowed_origin(server, path):
    r = server.request("OPTIONS", path, headers={
        "Origin": "http://127.0.0.1:3000", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert r.status_code == 200
    assert r.content == b""
    h = r.headers
    assert h["Access-Control-Allow-Origin"] == "http://127.0.0.1:3000"
    assert h["Access-Control-Allow-Methods"] == "DELETE, GET, OPTIONS, PATCH, POST, PUT"
    assert h["Access-Control-Allow-Headers"] == (
        "accept, authorization, content-type, user-agent, x-csrftoken, x-requested-with")
    assert h["Access-Control-Max-Age"] == "86400"
    assert h["Vary"] == "Origin"
    assert "Access-Control-Allow-Credentials" not in h


def test_preflight_from_other_origin_gets_no_cors_headers(server):
    r = server.request("OPTIONS", "/api/auth/token/refresh/", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert r.status_code == 200
    assert not [k for k in r.headers if k.lower().startswith("access-control-")]


def test_simple_response_to_allowed_origin_carries_cors(server):
    r = server.post("/api/auth/token/verify/", json={"token": "x"},
                    headers={"Origin": "http://127.0.0.1:3000"})
    assert r.status_code == 401
    assert r.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:3000"
    assert r.headers["Vary"] == "Origin"
    r = server.post("/api/auth/token/verify/", json={"token": "x"},
                    headers={"Origin": "http://127.0.0.1:3001"})
    assert "Access-Control-Allow-Origin" not in r.headers


def test_wildcard_origin(make_server):
    s = make_server(cors_allowed_origins="*")
    r = s.post("/api/auth/token/verify/", json={"token": "x"}, headers={"Origin": "https://a.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_body_over_limit_is_413(make_server):
    s = make_server(max_body="1k")
    r = s.post("/api/auth/token/refresh/", data=b'{"refresh":"' + b"a" * 2000 + b'"}',
               headers={"Content-Type": "application/json"})
    assert_json(r, 413, {"detail": "Request body is too large."})


def test_body_over_default_limit_is_413(server):
    r = server.post("/api/auth/token/verify/", data=b"x" * (65 * 1024),
                    headers={"Content-Type": "application/json"})
    assert_json(r, 413, {"detail": "Request body is too large."})


@pytest.mark.parametrize("body,reason_start", [
    (b"{", "JSON parse error - "),
    (b'{"token": "a", "token": "b"}', "JSON parse error - "),
    (b'{"token": "a"} x', "JSON parse error - "),
    (b"\xff\xfe", "JSON parse error - "),
])
def test_malformed_json_is_400(server, body, reason_start):
    r = server.post("/api/auth/token/verify/", data=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert list(r.json()) == ["detail"]
    assert r.json()["detail"].startswith(reason_start)
    assert len(r.json()["detail"]) > len(reason_start)


def test_json_that_is_not_an_object(server):
    r = server.post("/api/auth/token/verify/", data=b"[1]", headers={"Content-Type": "application/json"})
    assert_json(r, 400, {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})


def test_other_media_type_is_415(server):
    r = server.post("/api/auth/token/verify/", data=b"token=x", headers={"Content-Type": "text/plain"})
    assert_json(r, 415, {"detail": 'Unsupported media type "text/plain" in request.'})


def test_form_body_is_accepted(server):
    r = server.post("/api/auth/token/verify/", data={"token": "abc"})
    assert_json(r, 401, {"detail": "Token is invalid or expired", "code": "token_not_valid"})


def test_json_with_charset_is_accepted(server):
    r = server.post("/api/auth/token/verify/", data=b'{"token":"abc"}',
                    headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 401


def test_empty_body_means_missing_fields(server):
    r = server.post("/api/auth/token/verify/")
    assert_json(r, 400, {"token": ["This field is required."]})


def test_health_reads_the_store(server):
    r = server.get("/api/health/")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_health_is_503_when_store_is_missing(make_server):
    import shutil
    s = make_server()
    s.stop()
    shutil.rmtree(s.db_home)
    s.start()
    store_error = {"detail": "Service temporarily unavailable.", "code": "service_unavailable"}
    assert_json(s.get("/api/health/"), 503, store_error)
    assert_json(s.post("/api/auth/token/refresh/", json={"refresh": "x"}), 503, store_error)
    assert "run `socialauth init`" in s.log() or "socialauth init" in s.log()
    assert "store: " in s.log() and "store: store:" not in s.log()   # one prefix, not two


def test_misconfigured_endpoint_answers_503(make_server):
    s = make_server()
    with open(s.conf, "a") as f:
        f.write("no_such_key = 1\n")
    s.restart()
    r = s.get("/api/health/")
    assert_json(r, 503, {"detail": "Service temporarily unavailable.", "code": "service_unavailable"})
    assert "unknown key `no_such_key`" in s.log()
