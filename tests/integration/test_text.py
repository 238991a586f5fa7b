"""Text from outside, through a real lighttpd (issue 8 points 3, 4, 5, 9, 10; issue 9 points 2, 4).

- every string of a body (JSON, form, multipart) and every header we read is valid UTF-8 and
  holds no NUL before any handler sees it, with DRF's answers;
- client text echoed in a message is cut at a character, never inside one;
- usernames follow Django (NFKC, Python's \\w plus @.+-, 150 characters, unique ignoring case);
- every length counts characters; Google names are kept whole; usernames from Google names
  are folded as allauth does;
- multipart/form-data plain fields work on every endpoint that takes a body;
- Google's times get google_leeway (60 s), ours leeway.
One server and one fake Google for the module: the cases only add users."""

import time
import uuid

import pytest

from google_fixture import GoogleClient

USER = "/api/auth/user/"
VERIFY = "/api/auth/token/verify/"
REFRESH = "/api/auth/token/refresh/"
LOGOUT = "/api/auth/logout/"
LOGIN = "/api/social/login/google/"
INVALID_USERNAME = ("Enter a valid username. This value may contain only letters, numbers, and "
                    "@/./+/-/_ characters.")
MAX150 = "Ensure this field has no more than 150 characters."
TAKEN = {"username": ["A user with that username already exists."]}


def nul_error(field):
    return {field: ["Null characters are not allowed."]}


def not_string(field):
    return {field: ["Not a valid string."]}


@pytest.fixture(scope="module")
def google():
    g = GoogleClient.start()
    yield g
    g.stop()


@pytest.fixture(scope="module")
def srv(google, tmp_path_factory):
    from sa_server import Server
    s = Server(tmp_path_factory.mktemp("sa"), google_timeout="1", **google.settings())
    yield s
    s.stop()


def new_user(srv, name=None, **names):
    name = name or "u" + uuid.uuid4().hex[:12]
    user = srv.create_user(name, **names)
    return {"user": user, **srv.mint(user["pk"])}


def bearer(tokens):
    return {"Authorization": "Bearer " + tokens["access"]}


def me(srv, tokens):
    r = srv.get(USER, headers=bearer(tokens))
    assert r.status_code == 200, r.text
    return r.json()


def form(body):
    return {"data": body, "headers": {"Content-Type": "application/x-www-form-urlencoded"}}


def multipart(fields, boundary="sa-b0undary"):
    """A multipart/form-data body of plain fields as curl -F sends it (bytes values kept)."""
    out = b""
    for name, value in fields:
        value = value if isinstance(value, bytes) else value.encode()
        out += (b"--" + boundary.encode() + b"\r\nContent-Disposition: form-data; name=\""
                + name.encode() + b"\"\r\n\r\n" + value + b"\r\n")
    out += b"--" + boundary.encode() + b"--\r\n"
    return {"data": out, "headers": {"Content-Type": "multipart/form-data; boundary=" + boundary}}


# ---- issue 9.2: NUL and ill-formed UTF-8 never reach a handler ----

def test_nul_after_a_valid_token_is_refused_everywhere(srv):
    t = new_user(srv)
    assert srv.post(VERIFY, json={"token": t["access"]}).status_code == 200
    for path, field, token in [(VERIFY, "token", t["access"]), (VERIFY, "token", t["refresh"]),
                               (REFRESH, "refresh", t["refresh"]),
                               (LOGOUT, "refresh", t["refresh"])]:
        r = srv.post(path, json={field: token + "\u0000junk"})
        assert (r.status_code, r.json()) == (400, nul_error(field)), path
        r = srv.post(path, **form(f"{field}={token}%00junk"))
        assert (r.status_code, r.json()) == (400, nul_error(field)), path
        r = srv.post(path, **multipart([(field, token.encode() + b"\0junk")]))
        assert (r.status_code, r.json()) == (400, nul_error(field)), path
    # nothing was refreshed or logged out by those: the token still refreshes once
    assert srv.post(REFRESH, json={"refresh": t["refresh"]}).status_code == 200


@pytest.mark.parametrize("body,field", [
    ("first_name=%FF", "first_name"),
    ("username=x%ED%A0%80", "username"),      # a surrogate
    ("last_name=%C0%AF", "last_name"),         # an overlong '/'
    ("first_name=%F4%90%80%80", "first_name"), # above U+10FFFF
    ("first_name=Ada&last_name=%E5%A4", "last_name"),  # cut in half
])
def test_form_with_bad_utf8_is_400_and_stores_nothing(srv, body, field):
    t = new_user(srv, first_name="Before", last_name="Same")
    before = me(srv, t)
    r = srv.request("PATCH", USER, headers={**bearer(t), "Content-Type":
                                            "application/x-www-form-urlencoded"}, data=body)
    assert (r.status_code, r.json()) == (400, not_string(field))
    assert me(srv, t) == before
    # the user's record stays readable by the admin command
    assert srv.cli("user", "show", t["user"]["pk"]).returncode == 0


@pytest.mark.parametrize("body", [
    {"first_name": "a\u0000b"}, {"last_name": "\u0000"}, {"username": "bob\u0000"},
])
def test_json_nul_in_a_field_is_drf_error(srv, body):
    t = new_user(srv)
    before = me(srv, t)
    r = srv.request("PATCH", USER, headers=bearer(t), json=body)
    assert (r.status_code, r.json()) == (400, nul_error(next(iter(body))))
    assert me(srv, t) == before


@pytest.mark.parametrize("name,value", [
    ("Authorization", b"Bearer \xff\xfe"),
    ("Authorization", b"Bearer abc\xed\xa0\x80"),
    ("Cookie", b"sa-access=\xc0\xaf"),
    ("Origin", b"http://127.0.0.1:3000\xff"),
    ("Referer", b"http://127.0.0.1:3000/\xe5"),
])
def test_headers_that_are_not_utf8_are_refused(srv, name, value):
    r = srv.get(USER, headers={name: value})
    assert (r.status_code, r.json()) == (400, {"detail": f"Malformed {name} header."})
    assert "Access-Control-Allow-Origin" not in r.headers


def test_content_type_not_utf8_is_refused(srv):
    r = srv.post(VERIFY, data=b"{}", headers={"Content-Type": b"application/json\xff"})
    assert (r.status_code, r.json()) == (400, {"detail": "Malformed Content-Type header."})


# ---- issue 9.4: echoed text is cut at characters ----

@pytest.mark.parametrize("n", [199, 200, 250])
def test_long_media_type_is_415_and_valid_utf8(srv, n):
    media = "a" * n + "é"
    r = srv.post(VERIFY, data=b"x", headers={"Content-Type": media.encode()})
    assert r.status_code == 415, r.text
    shown = media if len(media) <= 200 else media[:200]
    assert r.json() == {"detail": f'Unsupported media type "{shown}" in request.'}


@pytest.mark.parametrize("scope", ["a" * 39 + "é", "é" * 300, "日本" * 120, "x" * 199 + "😀"])
def test_invalid_scope_echo_is_400(srv, scope):
    t = new_user(srv)
    r = srv.post(LOGOUT, json={"refresh": t["refresh"], "scope": scope})
    assert r.status_code == 400, r.text
    assert r.json() == {"scope": [f'"{scope[:200]}" is not a valid choice.']}


# ---- issue 8.3: usernames ----

@pytest.mark.parametrize("given,stored", [
    ("ada.b+c-d_e@x", "ada.b+c-d_e@x"),
    ("٣٤علي", "٣٤علي"),                 # Arabic-Indic digits and Arabic letters
    ("रम१", "रम१"),                     # Devanagari letters and digit
    ("太郎_2", "太郎_2"),
    ("Ｊｏｈｎ_ｆｗ", "John_fw"),         # full-width: NFKC
    ("ﬁsh" + uuid.uuid4().hex[:6], None),  # the fi ligature: NFKC makes it "fi"
    ("Ⅻ" + uuid.uuid4().hex[:6], None),   # Roman numeral: NFKC "XII"
])
def test_usernames_accepted(srv, given, stored):
    t = new_user(srv)
    r = srv.request("PATCH", USER, headers=bearer(t), json={"username": given})
    assert r.status_code == 200, r.text
    import unicodedata
    assert r.json()["username"] == (stored or unicodedata.normalize("NFKC", given))
    assert me(srv, t)["username"] == r.json()["username"]


@pytest.mark.parametrize("given", [
    "alice\u200b",        # trailing zero-width space
    "ali\u00a0ce",        # no-break space
    "al😀ice",            # emoji
    "\u202eecila",        # right-to-left override
    "alice\u0085",        # NEXT LINE
    "a\u200db",           # zero-width joiner
    "a\u00adb",           # soft hyphen
    "two words", "semi;colon", "a/b", "€uro", "tab\tbed",
    "राम",                # a spacing vowel sign: not \w in Python, so Django refuses it too
])
def test_usernames_refused(srv, given):
    t = new_user(srv)
    before = me(srv, t)
    r = srv.request("PATCH", USER, headers=bearer(t), json={"username": given})
    assert (r.status_code, r.json()) == (400, {"username": [INVALID_USERNAME]})
    assert me(srv, t) == before


def test_username_lengths_count_characters(srv):
    t = new_user(srv)
    name = "名" * 150
    r = srv.request("PATCH", USER, headers=bearer(t), json={"username": name})
    assert r.status_code == 200 and r.json()["username"] == name
    r = srv.request("PATCH", USER, headers=bearer(t), json={"username": "名" * 151})
    assert (r.status_code, r.json()) == (400, {"username": [MAX150]})
    r = srv.request("PATCH", USER, headers=bearer(t), json={"username": "a b" * 60})
    assert (r.status_code, r.json()) == (400, {"username": [INVALID_USERNAME, MAX150]})


def test_username_unique_ignoring_case(srv):
    base = "alice" + uuid.uuid4().hex[:6]
    owner = new_user(srv, base)
    other = new_user(srv)
    for variant in [base.upper(), base.capitalize(), base[:3].upper() + base[3:],
                    "".join(chr(ord(c) + 0xFEE0) if c.isalpha() else c for c in base)]:
        r = srv.request("PATCH", USER, headers=bearer(other), json={"username": variant})
        assert (r.status_code, r.json()) == (400, TAKEN), variant
        r = srv.cli("user", "create", "--username", variant, "--email", f"{uuid.uuid4().hex}@x.org")
        assert r.returncode != 0 and "username" in r.stderr
    # the owner may change the case of its own name, and lookups ignore case
    r = srv.request("PATCH", USER, headers=bearer(owner), json={"username": base.upper()})
    assert r.status_code == 200 and r.json()["username"] == base.upper()
    import json
    shown = json.loads(srv.cli_ok("user", "show", base))
    assert shown["pk"] == owner["user"]["pk"]
    # German sharp s folds to "ss"
    sharp = "stra" + uuid.uuid4().hex[:4] + "ße"
    new_user(srv, sharp)
    r = srv.request("PATCH", USER, headers=bearer(other), json={"username": sharp.replace("ß", "SS")})
    assert (r.status_code, r.json()) == (400, TAKEN)


# ---- issue 8.4: names count characters ----

@pytest.mark.parametrize("field", ["first_name", "last_name"])
def test_name_limits_in_characters(srv, field):
    t = new_user(srv)
    for ok in ["山田" * 30, "名" * 150, "😀" * 150, "é" * 150, ""]:
        r = srv.request("PATCH", USER, headers=bearer(t), json={field: ok})
        assert r.status_code == 200, r.text
        assert me(srv, t)[field] == ok
    for bad in ["名" * 151, "a" * 151, "😀" * 151]:
        r = srv.request("PATCH", USER, headers=bearer(t), json={field: bad})
        assert (r.status_code, r.json()) == (400, {field: [MAX150]})
    assert me(srv, t)[field] == ""


def test_cli_limits_count_characters(srv):
    r = srv.cli("user", "create", "--username", "cjk" + uuid.uuid4().hex[:6], "--email",
                "c@cjk.example", "--first-name", "山" * 150)
    assert r.returncode == 0, r.stderr
    r = srv.cli("user", "create", "--username", "cjk" + uuid.uuid4().hex[:6], "--email",
                "d@cjk.example", "--first-name", "山" * 151)
    assert r.returncode == 1 and "first_name is longer than 150 characters" in r.stderr


# ---- issue 8.5 and 8.4 at sign-up ----

@pytest.mark.parametrize("given,family,email,username", [
    ("Nguyễn", "Văn", None, "nguyen"),
    ("Ștefan", "Popescu", None, "stefan"),
    ("Ştefan", "Ionescu", None, "stefan"),
    ("Ｊｏｈｎ", "Ｄｏｅ", None, "john"),
    ("Иван", "Petrov", None, "petrov"),
    ("Иван", "Петров", "ivan.p@example.ru", "ivan.p"),
    ("Mary Ann", "Smith", None, "mary_ann"),
    ("😀", "", "", "user"),
])
def test_google_usernames_folded_as_allauth(srv, google, given, family, email, username):
    sub = uuid.uuid4().hex
    email = email if email is not None else f"{sub}@example.com"
    claims = dict(sub=sub, email=email, given_name=given, family_name=family)
    r = srv.post(LOGIN, json={"id_token": google.mint_id_token(**claims)})
    assert r.status_code == 200, r.text
    user = r.json()["user"]
    assert user["username"] == username or (user["username"].startswith(username) and
                                            user["username"][len(username):].isdigit())
    assert (user["first_name"], user["last_name"]) == (given, family)


def test_google_names_kept_whole_up_to_150_characters(srv, google):
    given, family = "龍" * 60, "😀" * 150
    r = srv.post(LOGIN, json={"id_token": google.mint_id_token(
        sub=uuid.uuid4().hex, email=f"{uuid.uuid4().hex}@example.com", given_name=given,
        family_name=family)})
    assert r.status_code == 200, r.text
    assert (r.json()["user"]["first_name"], r.json()["user"]["last_name"]) == (given, family)
    r = srv.post(LOGIN, json={"id_token": google.mint_id_token(
        sub=uuid.uuid4().hex, email=f"{uuid.uuid4().hex}@example.com", given_name="é" * 200,
        family_name="x")})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["first_name"] == "é" * 150


# ---- issue 8.10: google_leeway ----

@pytest.mark.parametrize("claims,status", [
    (lambda now: dict(iat=now + 30), 200),
    (lambda now: dict(iat=now + 55), 200),
    (lambda now: dict(iat=now + 120), "issued_in_future"),
    (lambda now: dict(exp=now - 30, iat=now - 3630), 200),
    (lambda now: dict(exp=now - 120, iat=now - 3720), "expired"),
])
def test_google_leeway(srv, google, claims, status):
    now = int(time.time())
    token = google.mint_id_token(sub=uuid.uuid4().hex, email=f"{uuid.uuid4().hex}@example.com",
                                 **claims(now))
    r = srv.post(LOGIN, json={"id_token": token})
    if status == 200:
        assert r.status_code == 200, r.text
    else:
        assert (r.status_code, r.json()) == (400, {"non_field_errors": ["Incorrect value"],
                                                   "code": status})


def test_our_tokens_keep_leeway_zero(srv):
    from tokens_util import craft
    t = new_user(srv)
    r = srv.post(VERIFY, json={"token": craft("access", t["user"]["pk"], lifetime=-1)})
    assert r.status_code == 401


# ---- issue 8.9: multipart/form-data on every endpoint with a body ----

def test_multipart_on_every_endpoint(srv, google):
    t = new_user(srv)
    r = srv.post(VERIFY, **multipart([("token", t["access"])]))
    assert (r.status_code, r.json()) == (200, {})
    r = srv.post(REFRESH, **multipart([("refresh", t["refresh"])]))
    assert r.status_code == 200, r.text
    t["refresh"] = r.json()["refresh"]
    t["access"] = r.json()["access"]
    mp = multipart([("first_name", "Zoë"), ("last_name", "山田")])
    r = srv.request("PATCH", USER, headers={**bearer(t), **mp["headers"]}, data=mp["data"])
    assert r.status_code == 200 and (r.json()["first_name"], r.json()["last_name"]) == ("Zoë", "山田")
    r = srv.request("PUT", USER, headers=bearer(t), files={"username": (None, "mp" + uuid.uuid4().hex[:8])})
    assert r.status_code == 200, r.text   # requests' files= without a filename, as curl -F
    token = google.mint_id_token(sub=uuid.uuid4().hex, email=f"{uuid.uuid4().hex}@example.com")
    r = srv.post(LOGIN, **multipart([("id_token", token)]))
    assert r.status_code == 200, r.text
    r = srv.post(LOGOUT, **multipart([("refresh", t["refresh"]), ("scope", "local")]))
    assert (r.status_code, r.json()) == (200, {"detail": "Successfully logged out."})


def test_multipart_repeated_field_last_wins(srv):
    t = new_user(srv)
    r = srv.post(VERIFY, **multipart([("token", "junk"), ("token", t["access"])]))
    assert r.status_code == 200
    r = srv.post(VERIFY, **multipart([("token", t["access"]), ("token", "junk")]))
    assert r.status_code == 401


def mp_error(reason):
    return {"detail": "Multipart form parse error - " + reason}


@pytest.mark.parametrize("ctype,body,reason", [
    ("multipart/form-data", b"--x\r\n", "Invalid boundary in multipart: None"),
    ("multipart/form-data; charset=utf-8", b"--x\r\n", "Invalid boundary in multipart: None"),
    ("multipart/form-data; boundary=" + "b" * 71, b"--x\r\n",
     "Invalid boundary in multipart: " + "b" * 40),
    ("multipart/form-data; boundary=x", b"token=abc", "Missing opening boundary"),
    ("multipart/form-data; boundary=x",
     b'--x\r\nContent-Disposition: form-data; name="token"\r\n\r\nabc', "Missing final boundary"),
    ("multipart/form-data; boundary=x",
     b'--x\r\nContent-Disposition: form-data; name="token"; filename="t.txt"\r\n'
     b"Content-Type: text/plain\r\n\r\nabc\r\n--x--\r\n", "File uploads are not supported"),
    ("multipart/form-data; boundary=x",
     b'--x\nContent-Disposition: form-data; name="token"\n\nabc\n--x--\n', "Malformed boundary line"),
    ("multipart/form-data; boundary=x",
     b'--x\r\nContent-Disposition: form-data; name="token"\r\nContent-Transfer-Encoding: base64'
     b"\r\n\r\nYWJj\r\n--x--\r\n", "Invalid part header"),
])
def test_multipart_errors(srv, ctype, body, reason):
    r = srv.post(VERIFY, data=body, headers={"Content-Type": ctype})
    assert (r.status_code, r.json()) == (400, mp_error(reason))


def test_multipart_file_upload_refused_and_nothing_stored(srv):
    t = new_user(srv, first_name="Keep")
    r = srv.request("PATCH", USER, headers=bearer(t),
                    files={"first_name": ("name.txt", b"Evil", "text/plain")})
    assert (r.status_code, r.json()) == (400, mp_error("File uploads are not supported"))
    assert me(srv, t)["first_name"] == "Keep"
