"""The admin command: help on every command, errors on stderr with a non-zero exit."""

import json
import os
import re

import pytest

from sa_server import ROOT

COMMANDS = [[], ["init"], ["createsuperuser"], ["user"], ["user", "create"], ["user", "list"],
            ["user", "show"], ["user", "update"], ["user", "set-active"], ["user", "set-staff"],
            ["user", "delete"], ["token"], ["token", "mint"], ["session"], ["session", "list"],
            ["session", "revoke"], ["session", "count"], ["config"], ["config", "check"],
            ["config", "show"], ["config", "defaults"], ["backup"], ["restore"], ["verify"], ["stats"], ["checkpoint"],
            ["purge"], ["export"]]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help(server, cmd):
    r = server.cli(*cmd, "--help")
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.startswith("usage: socialauth " + " ".join(cmd))


def test_top_level_help_has_exit_table(server):
    out = " ".join(server.cli_ok("--help").split())
    # the same table as README's "Operations": each status's meaning, word for word
    readme = open(os.path.join(ROOT, "README.md")).read()
    rows = re.findall(r"^\| ([0-6]) \| (.+) \|$", readme, re.M)
    assert [n for n, _ in rows] == list("0123456")
    for n, meaning in rows:
        assert f"{n} {meaning.replace('`', '')}" in out, (n, meaning)


def test_config_show_names_the_file_a_secret_came_from(make_server, tmp_path):
    secret = tmp_path / "client.secret"
    secret.write_text("s3cr3t-value\n")
    secret.chmod(0o600)
    s = make_server(google_client_secret_file=str(secret))
    rows = {r["setting"]: r for r in map(json.loads, s.cli_ok("config", "show", "--json").splitlines())}
    assert rows["google_client_secret"]["source"] == str(secret)
    assert rows["google_client_secret"]["value"] == "(set, hidden)"
    assert "s3cr3t-value" not in s.cli_ok("config", "show", "--json")


def test_config_defaults_lists_every_setting(server):
    """`config defaults` is a settings file of every key: help, value form, default."""
    out = server.cli_ok("config", "defaults")
    keys = re.findall(r"^(?:# )?([a-z_]+) =", out, re.M)
    assert len(keys) == len(set(keys)) > 30
    assert "\nmax_body = 64k\n" in out and "\nreuse_grace = 30s\n" in out
    assert "\n# db_home =\n" in out                    # required: no default
    assert "# larger request bodies get 413\n# value: a size like 65536, 64k or 1m\n" in out
    assert "a key of at most 512 bytes (a secret)" in out
    readme = open(os.path.join(ROOT, "README.md")).read()
    section = readme.split("\n## Configuration\n")[1].split("\n## ")[0]
    for key in re.findall(r"^\| `([a-z_]+)`", section, re.M):
        assert key in keys, key


@pytest.mark.parametrize("family", ["user", "token", "session", "config"])
def test_family_without_command_is_usage_error(server, family):
    r = server.cli(family)
    assert r.returncode == 2 and f"`{family}` needs a command" in r.stderr
    r = server.cli(family, "frob")
    assert r.returncode == 2 and f"unknown command `{family} frob`" in r.stderr


ENDPOINTS = ["google-login", "health", "logout", "posts", "token-refresh", "token-verify", "user-me"]


@pytest.mark.parametrize("name", ENDPOINTS)
def test_endpoint_help_does_not_serve(name):
    """--help answers at once (no FastCGI loop, no settings read) and says what and where."""
    import os
    import subprocess
    from sa_server import ROOT
    path = os.path.join(ROOT, "cgi-bin", name)
    env = dict(os.environ, SOCIALAUTH_CONF="/nonexistent/socialauth.conf")
    r = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=10, env=env,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0 and r.stderr == ""
    assert f"`{name}` endpoint" in r.stdout
    assert "program:  " + os.path.realpath(path) in r.stdout
    assert "$SOCIALAUTH_CONF (now /nonexistent/socialauth.conf)" in r.stdout


def test_create_show_list(server):
    u = json.loads(server.cli_ok("user", "create", "--username", "heidi", "--email", "Heidi@Example.com",
                                 "--first-name", "Heidi", "--staff"))
    assert u["username"] == "heidi" and u["is_staff"] is True and u["is_superuser"] is False
    assert u["is_active"] is True and len(u["pk"]) == 36
    for key in (u["pk"], "heidi", "heidi@example.com", "HEIDI@example.COM"):
        assert json.loads(server.cli_ok("user", "show", key))["pk"] == u["pk"]
    listed = [json.loads(line) for line in server.cli_ok("user", "list").splitlines()]
    assert u["pk"] in [x["pk"] for x in listed]


@pytest.mark.parametrize("args,message", [
    (["user", "create", "--username", "x"], "--username and --email are required"),
    (["user", "create", "--username", "bad name", "--email", "a@b.c"], "invalid username"),
    (["user", "create", "--username", "ok", "--email", "nope"], "invalid e-mail"),
    (["user", "create", "--bogus"], "unknown option"),
    (["user", "show", "no-such-user"], "no user"),
    (["user", "set-active"], "expected a user and a value, got 0 arguments"),
    (["user", "update"], "which user?"),
    (["user", "update", "nobody", "--email", ""], "--email may not be empty"),
    (["session", "list"], "expected one user"),
    (["token", "mint", "a", "b"], "expected one user, got 2 arguments"),
    (["session", "revoke", "a", "b"], "expected a sid, or --all and a user"),
    (["backup"], "expected one directory, got 0 arguments"),
    (["restore"], "expected the backup's directory"),
    (["verify", "extra"], "unexpected argument extra"),
    (["frobnicate"], "unknown command"),
])
def test_errors(server, args, message):
    r = server.cli(*args)
    assert r.returncode == (3 if "no user" in message else 2)
    assert message in r.stderr
    assert r.stdout == ""


def test_duplicates_refused_and_store_unchanged(server):
    server.cli_ok("user", "create", "--username", "ivan", "--email", "ivan@example.com")
    u = server.create_user("ivan3")
    before = server.cli_ok("user", "list")
    r = server.cli("user", "create", "--username", "ivan", "--email", "other@example.com")
    assert r.returncode == 1
    assert r.stderr == 'socialauth: user create: another user already has username "ivan"\n'
    r = server.cli("user", "create", "--username", "ivan2", "--email", "IVAN@example.com")
    assert r.returncode == 1
    assert r.stderr == 'socialauth: user create: another user already has email "IVAN@example.com"\n'
    r = server.cli("user", "update", u["pk"], "--username", "ivan")
    assert r.returncode == 1 and 'another user already has username "ivan"' in r.stderr
    assert server.cli_ok("user", "list") == before


def test_set_active_rejects_non_boolean(server):
    u = server.create_user("judy")
    r = server.cli("user", "set-active", u["pk"], "maybe")
    assert r.returncode == 2 and 'expected true or false, not "maybe"' in r.stderr


def test_bad_config_is_one_clear_line(tmp_path):
    import os
    import subprocess
    from sa_server import ROOT
    conf = tmp_path / "bad.conf"
    conf.write_text("db_home = /tmp/x\nsigning_key = short\n")
    conf.chmod(0o600)
    r = subprocess.run([os.path.join(ROOT, "bin", "socialauth"), "--config", str(conf), "user", "list"],
                       capture_output=True, text=True)
    assert r.returncode == 4
    assert "signing_key" in r.stderr and str(conf) in r.stderr and "at least 32 bytes" in r.stderr


def test_hot_backup_restores(make_server):
    import os
    s = make_server()
    u = s.create_user("backedup")
    tokens = s.mint(u["pk"])
    target = os.path.join(s.dir, "backup")  # where the store's owner may write
    s.cli_ok("backup", str(target))  # while lighttpd and its endpoints hold the store open
    assert s.cli("backup", str(target)).returncode == 1  # never over an existing backup
    restored = make_server(db_home=str(target))
    r = restored.get("/api/auth/user/", headers={"Authorization": "Bearer " + tokens["access"]})
    assert r.status_code == 200 and r.json()["pk"] == u["pk"]
    assert restored.post("/api/auth/token/refresh/", json={"refresh": tokens["refresh"]}).status_code == 200


def test_token_mint_refuses_an_inactive_user(server):
    u = server.create_user("dozing")
    server.cli_ok("user", "set-active", u["pk"], "false")
    before = server.cli_ok("session", "count")
    r = server.cli("token", "mint", u["pk"])
    assert r.returncode == 1 and r.stdout == ""
    assert f"socialauth: token mint: user {u['pk']} is inactive" in r.stderr
    assert server.cli_ok("session", "count") == before
