"""The admin command on a bad day: verify on a corrupted store, backup under load then restore,
maintenance commands, settings shown with their sources, and the errors an unprivileged user
meets (run as `nobody` through setpriv: root ignores file modes)."""

import concurrent.futures
import json
import os
import shutil
import struct
import subprocess
import threading
import time

import pytest

from sa_server import ROOT, SIGNING_KEY

CLI = os.path.join(ROOT, "bin", "socialauth")
ME = "/api/auth/user/"
REFRESH = "/api/auth/token/refresh/"


def run(conf, *args, user=None):
    cmd = [CLI, "--config", str(conf), *args]
    if user:
        cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def bare_store(path, **settings):
    """A store without a web server: (conf path, db_home)."""
    conf = path / "socialauth.conf"
    db = path / "db"
    lines = {"db_home": str(db), "signing_key": SIGNING_KEY, **settings}
    conf.write_text("".join(f"{k} = {v}\n" for k, v in lines.items()))
    conf.chmod(0o600)  # it holds the signing key inline
    assert run(conf, "init").returncode == 0
    return conf, db


def ok(conf, *args):
    r = run(conf, *args)
    assert r.returncode == 0, r.stderr
    return r.stdout


def bearer(token):
    return {"Authorization": "Bearer " + token}


# ---- verify ----

def _str(b):
    b = b.encode() if isinstance(b, str) else b
    return struct.pack(">I", len(b)) + b


def _i64(v):
    return struct.pack(">Q", (v + (1 << 63)) & ((1 << 64) - 1))


def user_record(username, email, sub=""):
    """A user record in the store's format version 1 (lib/store/store_record.h)."""
    return (b"\x01U" + _str(username) + _str(email) + _str("") + _str("") + bytes([1]) +
            _i64(1700000000) + _i64(0) + _str(sub) + _str(""))


def session_record(user_id, now):
    return (b"\x01S" + _str(user_id) + _str("a" * 32) + _str("") + _i64(now) + _i64(0) +
            _i64(now) + _i64(now + 3600) + _i64(now + 3600) + bytes([0]))


def db_load(db_home, file, pairs):
    """Write raw records into one database file with Berkeley DB's own db_load, bypassing the
    store's indexes (what a bug or a bad disk could leave)."""
    text = "VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n"
    for k, v in pairs:
        text += " " + k.encode().hex() + "\n " + v.hex() + "\n"
    text += "DATA=END\n"
    subprocess.run(["db5.3_load", "-h", str(db_home), file], input=text.encode(), check=True,
                   timeout=30)


def test_verify_accepts_a_sound_store_and_names_each_problem(tmp_path):
    conf, db = bare_store(tmp_path)
    alice = json.loads(ok(conf, "user", "create", "--username", "alice", "--email", "a@x.org"))
    ok(conf, "token", "mint", "alice")
    r = run(conf, "verify")
    assert r.returncode == 0 and r.stdout == ""
    assert "1 users and 1 sessions, no problem" in r.stderr

    db_load(db, "users.db", [("bad1", b"\x01Ujunk"), ("dup1", user_record("alice", "dup@x.org"))])
    db_load(db, "users_by_sub.db", [("sub-9", b"ghost")])
    now = int(time.time())
    db_load(db, "sessions.db", [("f" * 32, session_record("ghost", now))])
    # its key in the expiry index: expires_at (now + 3600) rounded up to a 24th of the
    # lifetime (150 s), then the sid (sa_store_index_session_expiry)
    expiry = -(-(now + 3600) // 150) * 150
    r = run(conf, "verify")
    assert r.returncode == 6, r.stderr
    assert r.stdout.splitlines() == [
        'user "bad1": the record does not decode (store: user bad1: corrupt U record)',
        # the username index holds duplicates (case variants of an older store, reported
        # apart), so a record written past it is missing from it rather than sharing a key
        'user "dup1": its username "alice" is missing from the index',
        'user "dup1": its email "dup@x.org" is missing from the index',
        'index of google_sub: "sub-9" points at user "ghost", which does not exist',
        f'session "{"f" * 32}" belongs to user "ghost", which does not exist',
        f'session "{"f" * 32}": its user "ghost" is missing from the index',
        f'session "{"f" * 32}": its expiry "{expiry}+{"f" * 32}" is missing from the index',
    ]
    assert "7 problems found" in r.stderr


# ---- backup under load, restore, verify ----

def test_backup_under_load_restores_every_user_and_session(fake_google, make_server, tmp_path):
    s = make_server(procs=2, **fake_google.settings())
    before = []
    for i in range(20):
        u = s.create_user(f"pre{i}")
        before.append((u, s.mint(u["pk"])))
    stop = threading.Event()
    counts = {"logins": 0, "refreshes": 0}

    def google_logins(n):
        i = 0
        while not stop.is_set():
            token = fake_google.mint_id_token(sub=f"load-{n}-{i}", email=f"load{n}.{i}@example.com")
            r = s.post("/api/social/login/google/", json={"id_token": token})
            assert r.status_code == 200, r.text
            counts["logins"] += 1
            i += 1

    def refreshes():
        u = s.create_user("rotator")
        refresh = s.mint(u["pk"])["refresh"]
        while not stop.is_set():
            r = s.post(REFRESH, json={"refresh": refresh})
            assert r.status_code == 200, r.text
            refresh = r.json()["refresh"]
            counts["refreshes"] += 1

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        load = [pool.submit(google_logins, 0), pool.submit(google_logins, 1),
                pool.submit(refreshes)]
        target = tmp_path / "backup"
        if s.owner:  # root's backup runs as the store's owner: the target must be open to it
            os.chown(tmp_path, *s.owner)
        try:
            time.sleep(1.0)
            s.cli_ok("backup", str(target))
            time.sleep(0.5)
        finally:  # a failed backup must end the load too, or the pool waits forever
            stop.set()
        for f in load:
            f.result()
    assert counts["logins"] > 5 and counts["refreshes"] > 5, counts

    restored_conf, restored_db = tmp_path / "restored.conf", tmp_path / "restored-db"
    restored_conf.write_text(open(s.conf).read().replace(s.db_home, str(restored_db)))
    restored_conf.chmod(0o600)  # it holds the signing key inline
    if s.owner:  # the endpoints (and root's commands, as the store's owner) read it
        os.chown(restored_conf, *s.owner)
    r = run(restored_conf, "restore", str(target))
    assert r.returncode == 0, r.stderr
    assert "no problem" in r.stderr
    assert run(restored_conf, "verify").returncode == 0
    s.stop()

    restored = make_server(db_home=str(restored_db), **fake_google.settings())
    stats = json.loads(restored.cli_ok("stats", "--json"))
    assert stats["users"] >= 21 and stats["sessions"] >= 21
    for u, tokens in before:
        me = restored.get(ME, headers=bearer(tokens["access"]))
        assert me.status_code == 200 and me.json()["pk"] == u["pk"]
        assert restored.post(REFRESH, json={"refresh": tokens["refresh"]}).status_code == 200


def test_restore_refuses_a_used_store_and_a_missing_backup(tmp_path):
    conf, db = bare_store(tmp_path)
    ok(conf, "user", "create", "--username", "kept", "--email", "k@x.org")
    ok(conf, "backup", str(tmp_path / "b"))
    r = run(conf, "restore", str(tmp_path / "b"))
    assert r.returncode == 1 and "is not empty: restore only into a new or empty directory" in r.stderr
    assert json.loads(ok(conf, "user", "show", "kept"))["username"] == "kept"
    shutil.rmtree(db)
    r = run(conf, "restore", str(tmp_path / "nothing-here"))
    assert r.returncode == 3 and "not a readable socialauth backup" in r.stderr
    assert not db.exists()
    assert run(conf, "restore", str(tmp_path / "b")).returncode == 0
    assert json.loads(ok(conf, "user", "show", "kept"))["username"] == "kept"


def test_restore_of_a_damaged_backup_leaves_db_home_as_it_was(tmp_path):
    conf, db = bare_store(tmp_path)
    ok(conf, "user", "create", "--username", "kept", "--email", "k@x.org")
    ok(conf, "token", "mint", "kept")
    ok(conf, "backup", str(tmp_path / "good"))
    target_conf = tmp_path / "target.conf"
    target = tmp_path / "target-db"
    target_conf.write_text(open(conf).read().replace(str(db), str(target)))
    target_conf.chmod(0o600)

    garbage = tmp_path / "garbage"
    shutil.copytree(tmp_path / "good", garbage)
    (garbage / "sessions.db").write_bytes(os.urandom(8192))
    # an index problem in the backup itself (verify would say 6)
    db_load(db, "users_by_sub.db", [("sub-9", b"ghost")])
    ok(conf, "backup", str(tmp_path / "dangling"))

    for backup, empty_dir in [("garbage", False), ("garbage", True), ("dangling", False)]:
        if empty_dir:
            target.mkdir()
        r = run(target_conf, "restore", str(tmp_path / backup))
        assert r.returncode == 6, (backup, r.stderr)
        assert "restored" not in r.stderr.replace("nothing restored", "")
        assert f"nothing restored; {target} is as it was" in r.stderr
        if empty_dir:
            assert os.listdir(target) == []
            target.rmdir()
        assert not target.exists()
        assert [p for p in os.listdir(tmp_path) if ".restore-" in p] == []  # no leftovers
    r = run(target_conf, "restore", str(tmp_path / "dangling"))
    assert 'index of google_sub: "sub-9" points at user "ghost"' in r.stdout
    r = run(target_conf, "restore", str(tmp_path / "good"))
    assert r.returncode == 0 and f"restored {tmp_path / 'good'} into {target}" in r.stderr
    assert json.loads(ok(target_conf, "user", "show", "kept"))["username"] == "kept"
    assert os.stat(target).st_mode & 0o777 == 0o700


def test_backup_target_rules_and_message_prefixes(tmp_path):
    conf, db = bare_store(tmp_path)
    other = tmp_path / "conf-dir"
    other.mkdir()
    (other / "app.conf").write_text("x")
    r = run(conf, "backup", str(other))
    assert r.returncode == 1 and f"socialauth: backup: {other} holds other files" in r.stderr
    assert sorted(os.listdir(other)) == ["app.conf"]
    r = run(conf, "backup", str(other / "app.conf"))
    assert r.returncode == 1 and "exists and is not a directory" in r.stderr
    empty = tmp_path / "empty"
    empty.mkdir(mode=0o755)
    os.chmod(empty, 0o755)
    ok(conf, "backup", str(empty))
    assert os.stat(empty).st_mode & 0o777 == 0o700
    r = run(conf, "backup", str(empty))
    assert r.returncode == 1
    assert r.stderr.startswith(f"socialauth: backup: {empty} already holds a backup"), r.stderr
    r = run(conf, "restore", str(empty))
    assert r.stderr.startswith(f"socialauth: restore: {db} is not empty"), r.stderr
    # the command is named in every message, and the store's path in permission errors
    r = run(conf, "user", "create", "--username", "bad name", "--email", "b@x.org")
    assert r.returncode == 2 and r.stderr.startswith('socialauth: user create: invalid username')
    r = run(conf, "user", "create", "--username", "x")
    assert r.stderr.startswith("socialauth: user create: --username and --email are required")
    r = run(conf, "user", "show", "nobody-here")
    assert r.returncode == 3 and r.stderr.startswith('socialauth: user show: no user with id'), r.stderr


# ---- users ----

def test_delete_ends_sessions_and_google_link(fake_google, make_server):
    s = make_server(**fake_google.settings())
    r = s.post("/api/social/login/google/",
               json={"id_token": fake_google.mint_id_token(sub="77", email="gone@example.com")})
    assert r.status_code == 200
    old = r.json()
    assert s.cli_ok("session", "count") == "1\n"
    r = s.cli("user", "delete", "gone@example.com")
    assert r.returncode == 0 and "its Google link and its sessions" in r.stderr
    assert s.cli_ok("session", "count") == "0\n"
    assert s.get(ME, headers=bearer(old["access"])).status_code == 401
    assert s.post(REFRESH, json={"refresh": old["refresh"]}).status_code == 401
    r = s.post("/api/social/login/google/",
               json={"id_token": fake_google.mint_id_token(sub="77", email="gone@example.com")})
    assert r.status_code == 200 and r.json()["user"]["pk"] != old["user"]["pk"]
    assert s.cli("user", "delete", old["user"]["pk"]).returncode == 3


def test_createsuperuser_update_set_staff(tmp_path):
    conf, _ = bare_store(tmp_path)
    su = json.loads(ok(conf, "createsuperuser", "--username", "root", "--email", "r@x.org"))
    assert su["is_staff"] and su["is_superuser"] and su["is_active"]
    u = json.loads(ok(conf, "user", "update", "root", "--first-name", "Ro", "--no-superuser",
                      "--email", "new@x.org"))
    assert (u["first_name"], u["is_superuser"], u["email"], u["pk"]) == ("Ro", False, "new@x.org", su["pk"])
    assert json.loads(ok(conf, "user", "set-staff", "new@x.org", "false"))["is_staff"] is False
    assert json.loads(ok(conf, "user", "show", su["pk"]))["is_staff"] is False
    r = run(conf, "user", "set-staff", "root", "sometimes")
    assert r.returncode == 2 and 'expected true or false, not "sometimes"' in r.stderr
    r = run(conf, "user", "update", "nobody-here", "--first-name", "X")
    assert r.returncode == 3 and 'no user with id, e-mail or username "nobody-here"' in r.stderr


def test_tables_for_people_json_for_scripts(tmp_path):
    conf, _ = bare_store(tmp_path)
    ok(conf, "user", "create", "--username", "t1", "--email", "t1@x.org")
    ok(conf, "user", "create", "--username", "longer-name", "--email", "t2@x.org", "--staff")
    table = ok(conf, "user", "list", "--table").splitlines()
    assert table[0].split() == ["ID", "USERNAME", "EMAIL", "ACTIVE", "STAFF", "SUPERUSER",
                                "GOOGLE", "JOINED"]
    col = table[0].index("EMAIL")
    assert all(line[col:].startswith(("EMAIL", "t1@", "t2@")) for line in table)
    assert len(table) == 3
    lines = ok(conf, "user", "list").splitlines()  # stdout is a pipe: JSON lines
    assert sorted(json.loads(x)["username"] for x in lines) == ["longer-name", "t1"]
    assert [json.loads(x)["username"] for x in ok(conf, "user", "list", "--json").splitlines()]


# ---- maintenance ----

def test_stats_purge_checkpoint_export(tmp_path):
    conf, _ = bare_store(tmp_path, refresh_token_lifetime="1s")
    for i in range(3):
        ok(conf, "user", "create", "--username", f"e{i}", "--email", f"e{i}@x.org")
        ok(conf, "token", "mint", f"e{i}")
    stats = json.loads(ok(conf, "stats", "--json"))
    assert (stats["users"], stats["sessions"], stats["google_links"]) == (3, 3, 0)
    assert stats["bytes_per_user"] > 0 and stats["bytes_per_session"] > 0
    assert "users" in ok(conf, "stats", "--table").splitlines()[1]
    time.sleep(2.1)
    assert ok(conf, "purge") == "3\n"
    assert ok(conf, "session", "count") == "0\n"
    assert ok(conf, "purge") == "0\n"
    assert ok(conf, "checkpoint") == ""
    exported = [json.loads(x) for x in ok(conf, "export").splitlines()]
    assert [u["username"] for u in exported] == sorted(
        [u["username"] for u in exported], key=lambda n: [x["pk"] for x in exported if x["username"] == n][0])
    assert {u["username"] for u in exported} == {"e0", "e1", "e2"}
    assert all("google_sub" in u and "password" not in u for u in exported)
    r = run(conf, "export")
    assert "exported 3 users" in r.stderr and "\r" not in r.stderr  # no progress bar in a pipe


def test_config_show_and_check(tmp_path):
    secret = "client-secret-that-must-not-show"
    conf, db = bare_store(tmp_path, google_client_secret=secret, access_token_lifetime="10m")
    shown = {x["setting"]: x for x in map(json.loads, ok(conf, "config", "show").splitlines())}
    assert shown["access_token_lifetime"] == {"setting": "access_token_lifetime", "value": "600s",
                                              "source": f"{conf}:4"}
    assert shown["reuse_grace"]["source"] == "default"
    assert shown["signing_key"]["value"] == f"({len(SIGNING_KEY)} bytes, hidden)"
    assert shown["google_client_secret"]["value"] == "(set, hidden)"
    table = ok(conf, "config", "show", "--table")
    assert secret not in table and SIGNING_KEY not in table
    r = run(conf, "config", "check")
    assert r.returncode == 0 and "is usable" in r.stderr
    conf.write_text(conf.read_text() + "access_token_lifetime = 5x\n")
    r = run(conf, "config", "check")
    assert r.returncode == 4
    assert ("bad value for `access_token_lifetime = 5x`: expected a duration like 300, 5m, 2h or 7d"
            in r.stderr)


def test_both_key_forms_refused_and_missing_key_explained(tmp_path):
    key = tmp_path / "k"
    key.write_text("k" * 40)
    key.chmod(0o600)
    conf = tmp_path / "c.conf"
    conf.write_text(f"db_home = {tmp_path}/db\nsigning_key = {SIGNING_KEY}\nsigning_key_file = {key}\n")
    conf.chmod(0o600)  # it holds the signing key inline
    r = run(conf, "config", "check")
    assert r.returncode == 4 and "both `signing_key` and `signing_key_file` are set" in r.stderr
    conf.write_text(f"db_home = {tmp_path}/db\n")
    r = run(conf, "config", "check")
    assert r.returncode == 4 and "no signing key: set `signing_key_file = PATH`" in r.stderr


# ---- as an unprivileged user ----

@pytest.fixture
def open_dir():
    """A directory every user may enter (pytest's own are root's only)."""
    import pathlib
    import tempfile
    d = tempfile.mkdtemp(prefix="sa-perm-")
    os.chmod(d, 0o755)
    yield pathlib.Path(d)
    shutil.rmtree(d)


def test_errors_as_an_unprivileged_user(open_dir, tmp_path):
    """The settings file, the key file and the store each refused by file modes: exit 4, 4, 5,
    each naming the file."""
    top = open_dir
    conf, db = bare_store(top)
    conf.chmod(0o600)
    r = run(conf, "user", "list", user="nobody")
    assert r.returncode == 4 and f"cannot open {conf}: Permission denied" in r.stderr
    # readable settings (no inline secret, so 0644 is allowed) and a key nobody owns: the
    # store is what refuses
    own_key = top / "nobody.key"
    own_key.write_text("n" * 64)
    own_key.chmod(0o600)
    shutil.chown(own_key, "nobody")
    conf.write_text(f"db_home = {db}\nsigning_key_file = {own_key}\n")
    conf.chmod(0o644)
    r = run(conf, "user", "list", user="nobody")
    assert r.returncode == 5 and f"socialauth: store {db}: " in r.stderr and "ermission denied" in r.stderr
    assert "store: store" not in r.stderr
    key = top / "signing.key"
    key.write_text("s" * 64)
    key.chmod(0o600)
    conf.write_text(f"db_home = {db}\nsigning_key_file = {key}\n")
    r = run(conf, "config", "check", user="nobody")
    assert r.returncode == 4 and f"cannot open {key}: Permission denied" in r.stderr
    r = run(conf, "backup", str(tmp_path / "elsewhere"), user="nobody")
    assert r.returncode == 4
    assert run(conf, "config", "check").returncode == 0  # the service user (root here) is fine
    # the key directory: only its owner may open it
    # (root refuses a key file another user owns: the review of issue 9, F5)
    conf.write_text(f"db_home = {db}\nsigning_key_file = {key}\nsigning_key_dir = {top}/keys\n")
    assert run(conf, "init").returncode == 0
    assert run(conf, "key", "rotate").returncode == 0
    conf.write_text(f"db_home = {db}\nsigning_key_file = {own_key}\nsigning_key_dir = {top}/keys\n")
    r = run(conf, "key", "list", user="nobody")
    assert r.returncode == 4 and f"cannot read {top}/keys: Permission denied" in r.stderr
    r = run(conf, "config", "check", user="nobody")
    assert r.returncode == 4 and "`signing_key_dir`" in r.stderr


def on_terminal(conf, *args):
    """Run the CLI with stderr on a pseudo-terminal; (status, what it wrote there)."""
    master, slave = os.openpty()
    try:
        r = subprocess.run([CLI, "--config", str(conf), *args], stdout=subprocess.DEVNULL,
                           stderr=slave, timeout=120)
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
    return r.returncode, seen


def test_progress_bar_only_on_a_terminal(tmp_path):
    """Long commands draw their bar on stderr when it is a terminal (a pty here), and stay
    quiet in a pipe."""
    conf, _ = bare_store(tmp_path)
    dump = tmp_path / "d.json"
    dump.write_text(json.dumps([{"model": "auth.user", "pk": i, "fields": {
        "username": f"p{i}", "email": f"p{i}@x.org", "password": ""}} for i in range(1, 3001)]))
    rc, seen = on_terminal(conf, "import-django", str(dump))
    assert rc == 0
    assert b"\rimport [" in seen and b"3000 users (3000 new" in seen
    piped = run(conf, "import-django", str(dump))
    assert piped.returncode == 0 and "\r" not in piped.stderr
    rc, seen = on_terminal(conf, "backup", str(tmp_path / "b"))
    assert rc == 0 and b"\rbackup (bytes) [" in seen
    piped = run(conf, "backup", str(tmp_path / "b2"))
    assert piped.returncode == 0 and "\r" not in piped.stderr
