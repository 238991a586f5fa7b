"""`socialauth import-django`: a dumpdata file made here by Debian's real Django and
django-allauth (tests/integration/django_dump.py), imported into a socialauth behind lighttpd;
then a token minted by Django/simplejwt is accepted at user-me, and a Google sign-in of an
imported linked user lands on the old account."""

import json
import os
import subprocess

import pytest

from sa_server import SIGNING_KEY

HERE = os.path.dirname(os.path.abspath(__file__))
ME = "/api/auth/user/"
LOGIN = "/api/social/login/google/"


def dumpdata(tmp_path, mode):
    out = tmp_path / f"{mode}.json"
    work = tmp_path / f"django-{mode}"
    work.mkdir()
    subprocess.run(["/usr/bin/python3", os.path.join(HERE, "django_dump.py"), str(work), mode,
                    str(out)], check=True, timeout=120, cwd=str(work))
    return out, json.loads(out.read_text())


def simplejwt_access(user_id, *flags):
    r = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "simplejwt_tool.py"), SIGNING_KEY,
                        "mint", str(user_id), *flags], capture_output=True, text=True, timeout=60,
                       check=True)
    return json.loads(r.stdout)["access"]


def users_of(records):
    return {r["fields"]["username"]: r for r in records if "username" in r["fields"]}


@pytest.fixture(scope="module")
def custom_dump(tmp_path_factory):
    return dumpdata(tmp_path_factory.mktemp("dump"), "custom")


def test_custom_uuid_user_model(custom_dump, fake_google, make_server):
    path, records = custom_dump
    by_name = users_of(records)
    s = make_server(**fake_google.settings())
    r = s.cli("import-django", str(path))
    assert r.returncode == 0, r.stderr
    assert "4 users (4 new, 0 updated), 2 Google links, 0 skipped" in r.stderr
    assert "\r" not in r.stderr  # no progress bar in a pipe

    shown = {u["username"]: u for u in map(json.loads, s.cli_ok("user", "list").splitlines())}
    assert set(shown) == {"alice", "bob", "carol", "dave.k"}
    for name, rec in by_name.items():
        u, f = shown[name], rec["fields"]
        assert u["pk"] == rec["pk"]
        assert (u["email"], u["first_name"], u["last_name"]) == (f["email"], f["first_name"], f["last_name"])
        assert (u["is_active"], u["is_staff"], u["is_superuser"]) == (f["is_active"], f["is_staff"], f["is_superuser"])
        assert u["date_joined"] == f["date_joined"][:19] + "Z"
        assert u["last_login"] == (f["last_login"][:19] + "Z" if f["last_login"] else None)
    assert shown["alice"]["date_joined"] == "2023-05-17T08:30:15Z"
    assert shown["alice"]["last_login"] == "2023-05-20T08:30:15Z"
    assert shown["carol"]["google_sub"] == "g-carol" and shown["dave.k"]["google_sub"] == "g-dave"
    assert shown["carol"]["google_extra"] == {"sub": "g-carol", "email": "carol@example.com",
                                              "given_name": "Zoë"}
    assert shown["bob"]["google_sub"] is None  # a GitHub account is not a Google link

    # the password hash is kept byte for byte, and never shown
    alice_hash = by_name["alice"]["fields"]["password"]
    assert alice_hash.startswith("pbkdf2_sha256$")
    kept = b"".join(open(os.path.join(s.db_home, n), "rb").read() for n in os.listdir(s.db_home)
                    if n.endswith(".db") or n.startswith("log."))
    assert alice_hash.encode() in kept
    for out in (s.cli_ok("user", "list"), s.cli_ok("export"), s.cli_ok("user", "show", "alice"),
                s.cli_ok("user", "list", "--table")):
        assert "pbkdf2" not in out and "password" not in out
    assert s.cli("verify").returncode == 0

    # again: harmless
    before = s.cli_ok("user", "list")
    r = s.cli("import-django", str(path))
    assert r.returncode == 0 and "4 users (0 new, 4 updated), 2 Google links, 0 skipped" in r.stderr
    assert s.cli_ok("user", "list") == before

    # a token Django minted for alice works here
    access = simplejwt_access(by_name["alice"]["pk"])
    me = s.get(ME, headers={"Authorization": "Bearer " + access})
    assert me.status_code == 200 and me.json()["pk"] == by_name["alice"]["pk"]
    assert me.json()["username"] == "alice"
    # bob was inactive in Django and stays so
    me = s.get(ME, headers={"Authorization": "Bearer " + simplejwt_access(by_name["bob"]["pk"])})
    assert me.status_code == 401

    # carol signs in with Google again: her old account, not a new one
    r = s.post(LOGIN, json={"id_token": fake_google.mint_id_token(sub="g-carol",
                                                                   email="carol@example.com")})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["pk"] == by_name["carol"]["pk"]
    assert len(s.cli_ok("user", "list").splitlines()) == 4


def test_default_auth_user_with_integer_ids(tmp_path, make_server):
    path, records = dumpdata(tmp_path, "default")
    by_name = users_of(records)
    assert isinstance(by_name["alice"]["pk"], int)
    s = make_server()
    r = s.cli("import-django", str(path))
    assert r.returncode == 0, r.stderr
    alice = json.loads(s.cli_ok("user", "show", "alice"))
    assert alice["pk"] == str(by_name["alice"]["pk"])
    access = simplejwt_access(by_name["alice"]["pk"], "int")  # Django's integer user_id claim
    me = s.get(ME, headers={"Authorization": "Bearer " + access})
    assert me.status_code == 200 and me.json()["username"] == "alice"


def test_bad_records_reported_and_skipped(custom_dump, tmp_path, make_server):
    _, records = custom_dump
    by_name = users_of(records)
    alice = by_name["alice"]

    def user(pk, **fields):
        f = dict(alice["fields"], **fields)
        return {"model": "accounts.customuser", "pk": pk, "fields": f}

    bad = [
        user("11111111-1111-4111-8111-111111111111", username="bad name", email="x1@example.com"),
        user("22222222-2222-4222-8222-222222222222", username="alice2", email=alice["fields"]["email"]),
        42,
        user("33333333-3333-4333-8333-333333333333", username="ok3", email="x3@example.com", is_staff="yes"),
        user("44444444-4444-4444-8444-444444444444", username="ok4", email="x4@example.com",
             date_joined="yesterday"),
        {"model": "socialaccount.socialaccount", "pk": 99,
         "fields": {"user": "55555555-5555-4555-8555-555555555555", "provider": "google",
                    "uid": "g-ghost", "extra_data": "{}"}},
        user(None, username="nopk", email="x6@example.com"),
    ]
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(records + bad))
    s = make_server()
    r = s.cli("import-django", str(path))
    assert r.returncode == 6, r.stderr
    n = len(records)
    lines = [x for x in r.stderr.splitlines() if x.endswith(": skipped")]
    assert lines == [
        f'socialauth: import-django: record {n + 1} (pk 11111111-1111-4111-8111-111111111111): '
        'username is not a valid username: skipped',
        f'socialauth: import-django: record {n + 2} (pk 22222222-2222-4222-8222-222222222222): '
        f'another user already has email "{alice["fields"]["email"]}": skipped',
        f'socialauth: import-django: record {n + 3} (pk ?): not a dumpdata record (an object '
        'with model, pk and fields): skipped',
        f'socialauth: import-django: record {n + 4} (pk 33333333-3333-4333-8333-333333333333): '
        'is_staff is not true or false: skipped',
        f'socialauth: import-django: record {n + 5} (pk 44444444-4444-4444-8444-444444444444): '
        'date_joined is not a date and time like 2023-05-17T08:30:15Z: skipped',
        f'socialauth: import-django: record {n + 7} (pk ?): pk is missing, or not an integer or '
        'a string of at most 128 bytes: skipped',
        f'socialauth: import-django: record {n + 6} (pk 99): user '
        '55555555-5555-4555-8555-555555555555 does not exist: skipped',
    ]
    assert "4 users (4 new, 0 updated), 2 Google links, 7 skipped" in r.stderr
    names = {json.loads(x)["username"] for x in s.cli_ok("user", "list").splitlines()}
    assert names == {"alice", "bob", "carol", "dave.k"}  # nothing of a bad record was written
    assert s.cli("verify").returncode == 0


def test_file_errors(tmp_path, server):
    r = server.cli("import-django", str(tmp_path / "absent.json"))
    assert r.returncode == 3 and "cannot open" in r.stderr
    notalist = tmp_path / "object.json"
    notalist.write_text('{"model": "auth.user"}')
    r = server.cli("import-django", str(notalist))
    assert r.returncode == 1 and "not a dumpdata list" in r.stderr
    cut = tmp_path / "cut.json"
    cut.write_text('[{"model": "auth.user", "pk": 1, "fields": {"username": "cut", "password": ""}}')
    r = server.cli("import-django", str(cut))
    assert r.returncode == 1 and "the list breaks off at byte" in r.stderr
    empty = tmp_path / "empty.json"
    empty.write_text("")
    r = server.cli("import-django", str(empty))
    assert r.returncode == 1 and "empty file" in r.stderr
