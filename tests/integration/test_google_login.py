"""POST /api/social/login/google/ (api.html#google-login) against the fake Google (tests/fakes/).

Each test gets a fresh fake Google and a fresh socialauth pointed at it."""

import concurrent.futures
import json
import re
import time

import jwt
import pytest

from sa_server import SIGNING_KEY

LOGIN = "/api/social/login/google/"
UNAVAILABLE = {"detail": "Google could not be reached.", "code": "upstream_unavailable"}
REQUIRED = {"non_field_errors": ["Incorrect input. access_token or code is required."]}
EMAIL_TAKEN = {"non_field_errors": ["User is already registered with this e-mail address."]}
DISABLED = {"non_field_errors": ["User account is disabled."]}
REDIRECT = "http://127.0.0.1/callback"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def incorrect(reason):
    return {"non_field_errors": ["Incorrect value"], "code": reason}


@pytest.fixture
def gs(fake_google, make_server):
    """(fake Google, socialauth) with Google's settings pointing at the fake, 1 s timeouts."""
    def make(procs=1, **settings):
        conf = fake_google.settings()
        conf["google_timeout"] = "1"
        conf.update(settings)
        return make_server(procs=procs, **conf)
    return fake_google, make


@pytest.fixture
def g_and_s(gs):
    google, make = gs
    return google, make()


def login(server, **fields):
    return server.post(LOGIN, json=fields)


def assert_incorrect(r, reason):
    assert r.status_code == 400, r.text
    assert r.json() == incorrect(reason)


# ---- the 200 answer ----

def test_id_token_login_creates_user(g_and_s):
    google, server = g_and_s
    token = google.mint_id_token(sub="1001", email="Ada.Lovelace@Example.com", given_name="Ada",
                                 family_name="Lovelace")
    r = login(server, id_token=token)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["Cache-Control"] == "no-store"
    body = r.json()
    assert list(body) == ["access", "refresh", "access_token", "refresh_token",
                          "access_expiration", "refresh_expiration", "user"]
    assert body["access"] == body["access_token"] and body["refresh"] == body["refresh_token"]
    assert body["refresh"] != ""
    assert UTC.match(body["access_expiration"]) and UTC.match(body["refresh_expiration"])
    user = body["user"]
    assert list(user) == ["pk", "userId", "username", "email", "first_name", "last_name"]
    assert user["pk"] == user["userId"]
    assert re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
                    user["pk"])
    assert user["username"] == "ada"
    assert user["email"] == "Ada.Lovelace@Example.com"
    assert (user["first_name"], user["last_name"]) == ("Ada", "Lovelace")
    assert "password" not in r.text

    # Our tokens, checked by PyJWT (someone else's code).
    access = jwt.decode(body["access"], SIGNING_KEY, algorithms=["HS256"])
    refresh = jwt.decode(body["refresh"], SIGNING_KEY, algorithms=["HS256"])
    assert access["token_type"] == "access" and refresh["token_type"] == "refresh"
    assert access["user_id"] == user["pk"] == refresh["user_id"]
    assert access["sid"] == refresh["sid"]
    assert server.post("/api/auth/token/verify/", json={"token": body["access"]}).status_code == 200
    me = server.get("/api/auth/user/", headers={"Authorization": "Bearer " + body["access"]})
    assert me.json() == user

    # The same Google account again: the same user, last_login moved, names not re-derived.
    shown = json.loads(server.cli_ok("user", "show", user["pk"]))
    assert shown["google_sub"] == "1001"
    assert shown["last_login"] is not None
    extra = shown["google_extra"]  # Google's claims kept as the social account's extra data
    assert extra["sub"] == "1001" and extra["email"] == "Ada.Lovelace@Example.com"
    assert extra["given_name"] == "Ada" and extra["aud"] == jwt.decode(
        token, options={"verify_signature": False})["aud"]
    r2 = login(server, id_token=google.mint_id_token(sub="1001", email="ada@elsewhere.example",
                                                     given_name="Someone"))
    assert r2.status_code == 200, r2.text
    assert r2.json()["user"] == user
    assert r2.json()["access"] != body["access"]
    assert len(server.cli_ok("user", "list").splitlines()) == 1


def test_cookie_mode(gs):
    google, make = gs
    server = make(cookie_mode="true", cookie_secure="false")
    r = login(server, id_token=google.mint_id_token())
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == ["access", "access_token", "access_expiration", "refresh_expiration",
                          "user"]
    cookies = r.raw.headers.getlist("Set-Cookie")
    access = [c for c in cookies if c.startswith("sa-access=")]
    refresh = [c for c in cookies if c.startswith("sa-refresh=")]
    assert access and "HttpOnly" in access[0] and body["access"] in access[0]
    assert refresh and "HttpOnly" in refresh[0] and "; Path=/api/auth/;" in refresh[0]


def test_form_encoded_request(g_and_s):
    google, server = g_and_s
    r = server.post(LOGIN, data={"id_token": google.mint_id_token()})
    assert r.status_code == 200, r.text


def test_cached_key_makes_no_call_to_google(g_and_s):
    google, server = g_and_s
    assert login(server, id_token=google.mint_id_token()).status_code == 200
    assert google.calls()["certs"] == 1
    google.reset_calls()
    for _ in range(3):
        assert login(server, id_token=google.mint_id_token()).status_code == 200
    assert google.calls() == {"certs": 0, "tokeninfo": 0, "userinfo": 0, "token": 0}


def test_cached_keys_shared_by_every_process(gs):
    google, make = gs
    server = make(procs=4)
    assert login(server, id_token=google.mint_id_token()).status_code == 200
    google.reset_calls()
    tokens = [google.mint_id_token() for _ in range(16)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda t: login(server, id_token=t).status_code, tokens))
    assert codes == [200] * 16
    assert google.calls()["certs"] == 0


def test_usernames_are_made_unique(g_and_s):
    google, server = g_and_s
    names = []
    for i in range(3):
        r = login(server, id_token=google.mint_id_token(given_name="Jos\u00e9", family_name="X"))
        assert r.status_code == 200, r.text
        names.append(r.json()["user"]["username"])
    assert names[0] == "jose"
    assert len(set(names)) == 3 and all(n.startswith("jose") for n in names)
    r = login(server, id_token=google.mint_id_token(remove=["given_name", "family_name", "name"],
                                                    email="grace.hopper@example.com"))
    assert r.json()["user"]["username"] == "grace.hopper"


# ---- the three request forms ----

def test_access_token_alone(g_and_s):
    google, server = g_and_s
    at = google.register_access_token(sub="2002", email="turing@example.com",
                                      profile={"given_name": "Alan", "family_name": "Turing"})
    r = login(server, access_token=at["access_token"])
    assert r.status_code == 200, r.text
    user = r.json()["user"]
    assert (user["username"], user["email"]) == ("alan", "turing@example.com")
    assert (user["first_name"], user["last_name"]) == ("Alan", "Turing")
    assert json.loads(server.cli_ok("user", "show", user["pk"]))["google_sub"] == "2002"
    assert google.calls() == {"certs": 0, "tokeninfo": 1, "userinfo": 1, "token": 0}


@pytest.mark.fastcgi_only
def test_connections_to_google_are_reused(g_and_s):
    google, server = g_and_s
    for _ in range(3):
        at = google.register_access_token()
        assert login(server, access_token=at["access_token"]).status_code == 200
    assert google.calls()["userinfo"] == 3
    assert google.connections() == 1  # one process, one kept-alive connection


def test_tokeninfo_email_verified_string(gs):
    google, make = gs
    server = make(link_verified_email="true")
    grace = server.create_user("grace", "grace@example.com")
    # userinfo says nothing about verification; tokeninfo says "false": no link.
    at = google.register_access_token(email="grace@example.com", email_verified=False,
                                      remove_profile=["email_verified"])
    r = login(server, access_token=at["access_token"])
    assert r.status_code == 400 and r.json() == EMAIL_TAKEN
    # tokeninfo's "true" (a string, as Google writes it there) counts.
    at = google.register_access_token(email="grace@example.com", remove_profile=["email_verified"])
    r = login(server, access_token=at["access_token"])
    assert r.status_code == 200, r.text
    assert r.json()["user"]["pk"] == grace["pk"]


def test_last_login_updated(g_and_s):
    google, server = g_and_s
    pk = login(server, id_token=google.mint_id_token(sub="9009")).json()["user"]["pk"]
    first = json.loads(server.cli_ok("user", "show", pk))["last_login"]
    time.sleep(1.1)
    assert login(server, id_token=google.mint_id_token(sub="9009")).status_code == 200
    second = json.loads(server.cli_ok("user", "show", pk))["last_login"]
    assert first is not None and second > first


def test_access_token_audience_via_azp(g_and_s):
    google, server = g_and_s
    at = google.register_access_token(aud="someone-else.apps.googleusercontent.com")
    assert login(server, access_token=at["access_token"]).status_code == 200


def test_access_token_of_another_client(g_and_s):
    google, server = g_and_s
    other = "someone-else.apps.googleusercontent.com"
    at = google.register_access_token(aud=other, azp=other)
    assert_incorrect(login(server, access_token=at["access_token"]), "wrong_audience")
    assert google.calls()["userinfo"] == 0


def test_access_token_expired(g_and_s):
    google, server = g_and_s
    # beyond google_leeway (60 s): within it the token would still be taken as unexpired
    at = google.register_access_token(expires_in=-120, google_checks_expiry=False)
    assert_incorrect(login(server, access_token=at["access_token"]), "expired")


def test_access_token_unknown_to_google(g_and_s):
    google, server = g_and_s
    assert_incorrect(login(server, access_token="ya29.not-a-token-google-knows"),
                     "rejected_by_google")
    at = google.register_access_token(expires_in=-10)  # Google itself says it is dead
    assert_incorrect(login(server, access_token=at["access_token"]), "rejected_by_google")


def test_access_token_that_is_a_jwt_is_an_id_token(g_and_s):
    google, server = g_and_s
    r = login(server, access_token=google.mint_id_token(sub="3003"))
    assert r.status_code == 200, r.text
    assert google.calls()["tokeninfo"] == 0
    assert_incorrect(login(server, access_token=google.mint_id_token(aud="other")),
                     "wrong_audience")


def test_id_token_with_access_token_checks_at_hash(g_and_s):
    google, server = g_and_s
    at = "ya29.fresh-access-token"
    ok = google.mint_id_token(access_token=at)
    assert login(server, id_token=ok, access_token=at).status_code == 200
    assert_incorrect(login(server, id_token=ok, access_token="ya29.another-token"), "bad_at_hash")
    bad = google.mint_id_token(at_hash="AAAAAAAAAAAAAAAAAAAAAA")
    assert_incorrect(login(server, id_token=bad, access_token=at), "bad_at_hash")
    # The ID token speaks for the user; the access token is not sent to Google.
    assert google.calls()["tokeninfo"] == 0


def test_code_flow_with_pkce(g_and_s):
    google, server = g_and_s
    at = "ya29.from-the-code"
    code = google.register_code(id_token=google.mint_id_token(sub="4004", access_token=at),
                                access_token=at, redirect_uri="https://app.example/cb",
                                code_verifier=VERIFIER)
    r = login(server, code=code, code_verifier=VERIFIER, redirect_uri="https://app.example/cb")
    assert r.status_code == 200, r.text
    assert json.loads(server.cli_ok("user", "show", r.json()["user"]["pk"]))["google_sub"] == "4004"
    assert google.calls()["token"] == 1
    # A code works once.
    r = login(server, code=code, code_verifier=VERIFIER, redirect_uri="https://app.example/cb")
    assert_incorrect(r, "rejected_by_google")


def test_code_flow_default_redirect_uri(g_and_s):
    google, server = g_and_s
    code = google.register_code(id_token=google.mint_id_token(), redirect_uri=REDIRECT)
    assert login(server, code=code).status_code == 200


def test_code_flow_refusals(g_and_s):
    google, server = g_and_s
    code = google.register_code(id_token=google.mint_id_token(), redirect_uri=REDIRECT,
                                code_verifier=VERIFIER)
    assert_incorrect(login(server, code=code, code_verifier="x" * 43), "rejected_by_google")
    code = google.register_code(id_token=google.mint_id_token(), redirect_uri=REDIRECT)
    assert_incorrect(login(server, code=code, redirect_uri="https://evil.example/cb"),
                     "rejected_by_google")
    assert_incorrect(login(server, code="4/unknown"), "rejected_by_google")
    assert_incorrect(login(server, code=code, code_verifier="short"), "malformed")
    # Google's ID token from the exchange is checked like any other.
    code = google.register_code(id_token=google.mint_id_token(aud="other"), redirect_uri=REDIRECT)
    assert_incorrect(login(server, code=code), "wrong_audience")


def test_code_flow_with_wrong_client_secret(gs):
    google, make = gs
    server = make(google_client_secret="not-the-secret")
    code = google.register_code(id_token=google.mint_id_token(), redirect_uri=REDIRECT)
    r = login(server, code=code)
    assert r.status_code == 503 and r.json() == UNAVAILABLE


@pytest.mark.parametrize("fields", [{}, {"id_token": ""}, {"access_token": "", "code": ""},
                                    {"code_verifier": VERIFIER}])
def test_nothing_given(g_and_s, fields):
    google, server = g_and_s
    r = login(server, **fields)
    assert r.status_code == 400 and r.json() == REQUIRED


def test_field_of_wrong_type(g_and_s):
    google, server = g_and_s
    r = login(server, id_token=["x"])
    assert r.status_code == 400
    assert r.json() == {"id_token": ["Not a valid string."]}


# ---- bad ID tokens ----

BAD_TOKENS = [
    ("other_audience", dict(aud="someone-else.apps.googleusercontent.com"), "wrong_audience"),
    ("audiences_with_stranger", dict(aud=["socialauth-test.apps.googleusercontent.com",
                                          "stranger"]), "wrong_audience"),
    ("other_issuer", dict(iss="https://evil.example.com"), "wrong_issuer"),
    ("other_azp", dict(azp="someone-else.apps.googleusercontent.com"), "wrong_azp"),
    ("expired", dict(exp=int(time.time()) - 60, iat=int(time.time()) - 3660), "expired"),
    ("future_iat", dict(iat=int(time.time()) + 600), "issued_in_future"),
    ("missing_sub", dict(remove=["sub"]), "missing_sub"),
    ("unknown_kid", dict(sign="unpublished"), "unknown_key"),
    ("alg_none", dict(sign="none"), "unsupported_algorithm"),
    ("hs256_with_public_key", dict(sign="hs256_pubkey"), "unsupported_algorithm"),
    ("bad_signature", dict(sign="bad_signature"), "invalid_signature"),
    ("exp_as_string", dict(exp=str(int(time.time()) + 600)), "malformed"),
    ("rs512", dict(header={"alg": "RS512"}), "unsupported_algorithm"),
]


@pytest.mark.parametrize("name,spec,reason", BAD_TOKENS, ids=[b[0] for b in BAD_TOKENS])
def test_bad_id_token(g_and_s, name, spec, reason):
    google, server = g_and_s
    spec = dict(spec)
    token = google.mint_id_token(**spec)
    assert_incorrect(login(server, id_token=token), reason)
    if reason == "unsupported_algorithm":
        assert google.calls()["certs"] == 0  # refused before any key was wanted
    assert server.cli_ok("user", "list") == ""


@pytest.mark.parametrize("garbage", ["not-a-jwt", "a.b.c", "e30.e30.e30", "x" * 20000])
def test_malformed_id_token(g_and_s, garbage):
    google, server = g_and_s
    assert_incorrect(login(server, id_token=garbage), "malformed")


def test_unknown_kid_forces_at_most_one_refetch_a_minute(gs):
    google, make = gs
    server = make(procs=2)
    assert login(server, id_token=google.mint_id_token()).status_code == 200
    google.reset_calls()
    for _ in range(4):
        assert_incorrect(login(server, id_token=google.mint_id_token(sign="unpublished")),
                         "unknown_key")
    assert google.calls()["certs"] == 1


# ---- key rotation ----

def test_key_rotation(g_and_s):
    google, server = g_and_s
    old = google.mint_id_token(sub="5005")           # signed by the current key
    assert login(server, id_token=old).status_code == 200
    google.configure(max_age=1)

    # Google publishes a new key and signs with it: the unknown kid forces a refetch.
    google.rotate()
    google.reset_calls()
    assert login(server, id_token=google.mint_id_token(sub="5005")).status_code == 200
    assert google.calls()["certs"] == 1

    # Another rotation drops the key `old` was signed with; once our copy is stale we see it.
    google.rotate()
    time.sleep(1.2)
    assert_incorrect(login(server, id_token=old), "unknown_key")
    assert login(server, id_token=google.mint_id_token(sub="5005")).status_code == 200


def test_jwks_refreshed_after_max_age(g_and_s):
    google, server = g_and_s
    google.configure(max_age=1)
    assert login(server, id_token=google.mint_id_token()).status_code == 200
    time.sleep(1.2)
    google.reset_calls()
    assert login(server, id_token=google.mint_id_token()).status_code == 200
    assert google.calls()["certs"] == 1



def test_jwks_no_cache_answer_has_a_floor(g_and_s):
    """Review of issue 9, F2: a JWKS answer that forbids caching (max-age=0) still keeps the
    keys SA_GOOGLE_MIN_MAX_AGE (60 s): logins do not each fetch the keys again."""
    google, server = g_and_s
    google.configure(max_age=0)
    google.reset_calls()
    for _ in range(4):
        assert login(server, id_token=google.mint_id_token()).status_code == 200
    assert google.calls()["certs"] == 1


def test_tokeninfo_exp_present_but_unusable_is_malformed(g_and_s):
    """Review of issue 9, F6: an unusable exp is not replaced by expires_in."""
    google, server = g_and_s
    for bad in (-1, "", None, "12x"):
        at = google.register_access_token(info_overrides={"exp": bad, "expires_in": 3600})
        assert_incorrect(login(server, access_token=at["access_token"]), "malformed")


def test_tokeninfo_integer_over_int64_is_503_with_the_cause_logged(g_and_s):
    """Review of issue 9, F6: Google's answer with an integer no int64 holds cannot be read
    (every integer we read must fit int64): 503, and the log says why."""
    google, server = g_and_s
    at = google.register_access_token(info_overrides={"expires_in": 18446744073709551615})
    r = login(server, access_token=at["access_token"])
    assert r.status_code == 503 and r.json() == UNAVAILABLE
    want = "Google's tokeninfo sent something that is not a JSON object (Integer out of range"
    deadline = time.time() + 3
    while want not in server.log() and time.time() < deadline:
        time.sleep(0.05)
    assert want in server.log()

# ---- Google down ----

@pytest.mark.parametrize("mode", ["500", "close", "stall", "bad_json"])
def test_google_down_cold_cache(g_and_s, mode):
    google, server = g_and_s
    google.fail("*", mode, seconds=3)
    t = time.time()
    r = login(server, id_token=google.mint_id_token())
    assert r.status_code == 503 and r.json() == UNAVAILABLE
    assert time.time() - t < 2.9  # our timeout (1 s), not Google's stall
    at = google.register_access_token()
    r = login(server, access_token=at["access_token"])
    assert r.status_code == 503 and r.json() == UNAVAILABLE
    r = login(server, code=google.register_code(id_token=google.mint_id_token()))
    assert r.status_code == 503 and r.json() == UNAVAILABLE
    assert server.cli_ok("user", "list") == ""


def test_google_down_warm_cache(g_and_s):
    google, server = g_and_s
    assert login(server, id_token=google.mint_id_token()).status_code == 200
    google.fail("*", "500")
    r = login(server, id_token=google.mint_id_token())
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("mode", ["500", "stall"])
def test_google_down_stale_cache_keeps_working(g_and_s, mode):
    google, server = g_and_s
    google.configure(max_age=1)
    assert login(server, id_token=google.mint_id_token()).status_code == 200
    time.sleep(1.2)
    google.fail("certs", mode, seconds=3)
    for _ in range(3):
        assert login(server, id_token=google.mint_id_token()).status_code == 200
    # Google back: the stale copy is replaced (after the process's short back-off).
    google.heal()


def test_userinfo_down(g_and_s):
    google, server = g_and_s
    google.fail("userinfo", "500")
    at = google.register_access_token()
    r = login(server, access_token=at["access_token"])
    assert r.status_code == 503 and r.json() == UNAVAILABLE


# ---- account resolution ----

def test_email_owned_by_another_user(g_and_s):
    google, server = g_and_s
    server.create_user("grace", "grace@example.com")
    r = login(server, id_token=google.mint_id_token(email="GRACE@example.com"))
    assert r.status_code == 400 and r.json() == EMAIL_TAKEN


def test_link_by_verified_email(gs):
    google, make = gs
    server = make(link_verified_email="true")
    grace = server.create_user("grace", "grace@example.com")
    r = login(server, id_token=google.mint_id_token(email="grace@example.com",
                                                    email_verified=False))
    assert r.status_code == 400 and r.json() == EMAIL_TAKEN
    r = login(server, id_token=google.mint_id_token(email="Grace@Example.com", sub="6006"))
    assert r.status_code == 200, r.text
    assert r.json()["user"]["pk"] == grace["pk"]
    assert json.loads(server.cli_ok("user", "show", grace["pk"]))["google_sub"] == "6006"


def test_unverified_email_creates_no_link(gs):
    google, make = gs
    server = make(link_verified_email="true")
    # email_verified as the string "true" is not Google saying yes.
    server.create_user("grace", "grace@example.com")
    r = login(server, id_token=google.mint_id_token(email="grace@example.com",
                                                    email_verified="true"))
    assert r.status_code == 400 and r.json() == EMAIL_TAKEN


def test_inactive_user_refused(g_and_s):
    google, server = g_and_s
    r = login(server, id_token=google.mint_id_token(sub="7007"))
    pk = r.json()["user"]["pk"]
    server.cli_ok("user", "set-active", pk, "false")
    r = login(server, id_token=google.mint_id_token(sub="7007"))
    assert r.status_code == 400 and r.json() == DISABLED


def test_twenty_parallel_first_logins_create_one_user(gs):
    google, make = gs
    server = make(procs=4)
    tokens = [google.mint_id_token(sub="8008", email="parallel@example.com") for _ in range(20)]
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda t: login(server, id_token=t), tokens))
    assert [a.status_code for a in answers] == [200] * 20, [a.text for a in answers]
    assert len({a.json()["user"]["pk"] for a in answers}) == 1
    users = server.cli_ok("user", "list").splitlines()
    assert len(users) == 1 and json.loads(users[0])["google_sub"] == "8008"


def test_never_500(g_and_s):
    google, server = g_and_s
    for body in ['{"id_token": 5}', '{"id_token": null}', '[]', '{"code": "4/\\u0000"}',
                 '{"access_token": "ya29.\\r\\nX: y"}', '{"id_token": "\\u00e9.\\u00e9.\\u00e9"}']:
        r = server.post(LOGIN, data=body, headers={"Content-Type": "application/json"})
        assert r.status_code in (400, 503), (body, r.status_code, r.text)
