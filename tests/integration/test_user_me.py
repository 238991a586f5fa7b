"""/api/auth/user/ and the example app endpoint /api/posts/ (api.html#user)."""

import pytest

from tokens_util import craft

NOT_PROVIDED = {"detail": "Authentication credentials were not provided."}
BAD_HEADER = {"detail": "Authorization header must contain two space-delimited values",
              "code": "bad_authorization_header"}


def not_valid(message):
    return {"detail": "Given token not valid for any token type", "code": "token_not_valid",
            "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}]}


@pytest.fixture(scope="module")
def bob(server):
    user = server.create_user("bob", "bob@example.com", first_name="Bob", last_name="Builder")
    return {"user": user, **server.mint(user["pk"])}


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_get_me(server, bob):
    r = server.get("/api/auth/user/", headers=auth(bob["access"]))
    assert r.status_code == 200
    assert r.content == (
        '{"pk":"%s","userId":"%s","username":"bob","email":"bob@example.com",'
        '"first_name":"Bob","last_name":"Builder"}' % (bob["user"]["pk"], bob["user"]["pk"])).encode()


@pytest.mark.parametrize("path", ["/api/auth/user/", "/api/posts/"])
@pytest.mark.parametrize("header,expected", [
    (None, NOT_PROVIDED),
    ("Basic dXNlcjpwYXNz", NOT_PROVIDED),
    ("bearer abc", NOT_PROVIDED),
    ("Bearer", BAD_HEADER),
    ("Bearer a b", BAD_HEADER),
    ("Bearer abc", not_valid("Token is invalid or expired")),
])
def test_authentication_errors(server, path, header, expected):
    headers = {"Authorization": header} if header else {}
    r = server.get(path, headers=headers)
    assert r.status_code == 401
    assert r.json() == expected
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("path", ["/api/auth/user/", "/api/posts/"])
def test_refresh_token_is_not_an_access_token(server, bob, path):
    r = server.get(path, headers=auth(bob["refresh"]))
    assert r.status_code == 401
    assert r.json() == not_valid("Token has wrong type")


@pytest.mark.parametrize("path", ["/api/auth/user/", "/api/posts/"])
def test_expired_access_token(server, bob, path):
    r = server.get(path, headers=auth(craft("access", bob["user"]["pk"], lifetime=-1)))
    assert r.json() == not_valid("Token is invalid or expired")


def test_unknown_and_inactive_users(server):
    r = server.get("/api/auth/user/", headers=auth(craft("access", "nobody")))
    assert r.status_code == 401 and r.json() == {"detail": "User not found", "code": "user_not_found"}
    u = server.create_user("carol")
    token = server.mint(u["pk"])["access"]
    server.cli_ok("user", "set-active", u["pk"], "false")
    r = server.get("/api/posts/", headers=auth(token))
    assert r.status_code == 401 and r.json() == {"detail": "User is inactive", "code": "user_inactive"}


def test_posts_for_signed_in_user(server, bob):
    r = server.get("/api/posts/", headers=auth(bob["access"]))
    assert r.status_code == 200
    posts = r.json()
    assert isinstance(posts, list) and posts and all({"id", "title", "body"} <= set(p) for p in posts)


def test_patch_changes_names_and_ignores_read_only(server):
    u = server.create_user("dave")
    token = server.mint(u["pk"])["access"]
    r = server.request("PATCH", "/api/auth/user/", headers=auth(token), json={
        "first_name": "Dave", "last_name": "Grohl", "pk": "hacked", "email": "x@evil.example"})
    assert r.status_code == 200, r.text
    assert r.json() == {"pk": u["pk"], "userId": u["pk"], "username": "dave",
                        "email": "dave@example.com", "first_name": "Dave", "last_name": "Grohl"}
    again = server.get("/api/auth/user/", headers=auth(token)).json()
    assert again["first_name"] == "Dave" and again["email"] == "dave@example.com"


def test_put_and_username_rules(server):
    u = server.create_user("erin")
    server.create_user("frank")
    token = server.mint(u["pk"])["access"]
    put = lambda body: server.request("PUT", "/api/auth/user/", headers=auth(token), json=body)
    r = put({"first_name": "E"})
    assert r.status_code == 400 and r.json() == {"username": ["This field is required."]}
    r = put({"username": "bad name!"})
    assert r.status_code == 400 and r.json() == {"username": [
        "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."]}
    r = put({"username": "frank"})
    assert r.status_code == 400 and r.json() == {"username": ["A user with that username already exists."]}
    r = put({"username": "erin", "first_name": "Erin"})
    assert r.status_code == 200 and r.json()["first_name"] == "Erin"
    r = put({"username": "erin.new"})
    assert r.status_code == 200 and r.json()["username"] == "erin.new"
    r = server.request("PATCH", "/api/auth/user/", headers=auth(token), json={"username": "erin"})
    assert r.status_code == 200  # the old name is free again
    r = server.request("PATCH", "/api/auth/user/", headers=auth(token), json={"username": ""})
    assert r.status_code == 400 and r.json() == {"username": ["This field may not be blank."]}
    r = server.request("PATCH", "/api/auth/user/", headers=auth(token), json={"first_name": None})
    assert r.status_code == 400 and r.json() == {"first_name": ["This field may not be null."]}
    r = server.request("PATCH", "/api/auth/user/", headers=auth(token), json={"last_name": "x" * 151})
    assert r.status_code == 400 and r.json() == {
        "last_name": ["Ensure this field has no more than 150 characters."]}
    assert server.get("/api/auth/user/", headers=auth(token)).json()["username"] == "erin"


@pytest.mark.parametrize("body,want", [
    ({"first_name": "  Ada  ", "last_name": "\tLovelace\n"}, {"first_name": "Ada", "last_name": "Lovelace"}),
    ({"first_name": "\u00a0Ada\u3000"}, {"first_name": "Ada"}),
    ({"last_name": "   "}, {"last_name": ""}),
    ({"first_name": 42}, {"first_name": "42"}),
])
def test_fields_are_trimmed_as_drf_does(server, body, want):
    """DRF's CharField trims surrounding whitespace (str.strip()) and takes numbers as their
    string before validating. Usernames are not trimmed (api.html#user: no spaces)."""
    u = server.create_user("trim" + str(abs(hash(str(body))) % 100000))
    token = server.mint(u["pk"])["access"]
    r = server.request("PATCH", "/api/auth/user/", headers=auth(token), json=body)
    assert r.status_code == 200, r.text
    got = server.get("/api/auth/user/", headers=auth(token)).json()
    assert {k: got[k] for k in want} == want


def test_username_with_surrounding_space_is_refused(server):
    u = server.create_user("trimblank")
    token = server.mint(u["pk"])["access"]
    r = server.request("PATCH", "/api/auth/user/", headers=auth(token), json={"username": " ada "})
    assert r.status_code == 400 and r.json() == {"username": [
        "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."]}
    assert server.get("/api/auth/user/", headers=auth(token)).json()["username"] == "trimblank"
