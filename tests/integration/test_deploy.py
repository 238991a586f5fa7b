"""Deployment: `make install`/`make uninstall`, the man page, `socialauth init` as root and the
ownership of the store, permission errors, `make run SERVER=...`, and nginx's supervisor.

Tests marked `server_independent` involve no web server: they run in the lighttpd pass of
`make test` only (skipped, with that reason, in the others)."""

import json
import os
import pwd
import re
import signal
import shutil
import subprocess
import tempfile
import time

import pytest
import requests

from sa_server import ROOT, SERVICE_USER, free_port, install_tree, installed, server_kind

once = pytest.mark.server_independent
WWW = pwd.getpwnam(SERVICE_USER)


def run(*args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    return subprocess.run(list(args), **kw)


@pytest.fixture
def open_dir():
    """A temporary directory the service user may enter (pytest's own sit under a 0700 one)."""
    d = tempfile.mkdtemp(prefix="sa-deploy-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def owner(path):
    return pwd.getpwuid(os.stat(path).st_uid).pw_name


@once
def test_install_then_uninstall(open_dir):
    dest = os.path.join(open_dir, "dest")
    r = run("make", "-s", "-C", ROOT, "install", "PREFIX=/usr", f"DESTDIR={dest}")
    assert r.returncode == 0, r.stderr
    files = {os.path.relpath(os.path.join(d, f), dest) for d, _, fs in os.walk(dest) for f in fs}
    for f in ["usr/bin/socialauth", "usr/lib/libsocialauth.a", "usr/include/socialauth/http/http.h",
              "usr/include/socialauth/api/auth.h", "usr/lib/socialauth/cgi-bin/user-me",
              "usr/lib/socialauth/cgi-bin/client-config", "usr/share/socialauth/htdocs/index.html",
              "usr/share/socialauth/htdocs/api.html",
              "usr/share/man/man8/socialauth.8", "etc/socialauth/socialauth.conf",
              "etc/socialauth/socialauth.conf.example", "etc/socialauth/lighttpd.conf",
              "etc/socialauth/apache-fcgid-global.conf", "etc/socialauth/apache-fcgid-vhost.conf",
              "etc/socialauth/apache-cgi-vhost.conf", "etc/socialauth/nginx-server.conf",
              "etc/socialauth/htaccess.example", "usr/lib/systemd/system/socialauth@.service",
              "usr/lib/socialauth/bin/socialauth-apache-conf", "usr/lib/socialauth/bin/socialauth-spawn"]:
        assert f in files, f
    assert not [f for f in files if f.endswith("_internal.h")]
    # A release build whose default settings path is under PREFIX (/etc for /usr).
    cli = os.path.join(dest, "usr/bin/socialauth")
    assert "else /etc/socialauth/socialauth.conf." in run(cli, "--help").stdout
    assert ".debug_info" not in run("readelf", "-S", cli).stdout
    health = run(os.path.join(dest, "usr/lib/socialauth/cgi-bin/health"), "--help")
    assert "(unset: the default /etc/socialauth/socialauth.conf)" in health.stdout
    etc = os.path.join(dest, "etc/socialauth")
    conf = open(os.path.join(etc, "socialauth.conf")).read()
    assert "db_home = /var/lib/socialauth/db\n" in conf
    assert "signing_key_file = /var/lib/socialauth/signing.key\n" in conf
    assert "\nservice_user = www-data\n" in conf
    # Every shipped server configuration has the installed paths filled in, none of DESTDIR.
    for name in ["lighttpd.conf", "apache-fcgid-global.conf", "apache-fcgid-vhost.conf",
                 "apache-cgi-vhost.conf", "nginx-server.conf", "htaccess.example"]:
        text = open(os.path.join(etc, name)).read()
        assert dest not in text and ROOT not in text and not re.search("@[A-Z]+@", text), name
    vhost = open(os.path.join(etc, "apache-fcgid-vhost.conf")).read()
    assert "FcgidInitialEnv SOCIALAUTH_CONF /etc/socialauth/socialauth.conf" in vhost
    assert "FcgidMaxProcesses " not in vhost  # refused by Apache inside <VirtualHost>
    assert "FcgidMaxProcesses " in open(os.path.join(etc, "apache-fcgid-global.conf")).read()
    cgi = open(os.path.join(etc, "apache-cgi-vhost.conf")).read()
    assert "CGIPassAuth On" in cgi and "SetEnv SOCIALAUTH_CONF /etc/socialauth/socialauth.conf" in cgi
    htaccess = open(os.path.join(etc, "htaccess.example")).read()
    assert "CGIPassAuth On" in htaccess and "RewriteRule ^api/auth/user/?$ /cgi-bin/user-me" in htaccess
    lighttpd = open(os.path.join(etc, "lighttpd.conf")).read()
    assert '"bin-path"        => "/usr/lib/socialauth/cgi-bin/user-me"' in lighttpd
    assert 'server.username        = "www-data"' in lighttpd
    assert "fastcgi_pass unix:/run/socialauth/user-me.sock;" in open(os.path.join(etc, "nginx-server.conf")).read()
    unit = open(os.path.join(dest, "usr/lib/systemd/system/socialauth@.service")).read()
    assert "User=www-data" in unit and "multiwatch" in unit and "Restart=always" in unit
    # The man page renders without a warning.
    man = os.path.join(dest, "usr/share/man/man8/socialauth.8")
    r = run("groff", "-man", "-Tutf8", "-ww", "-z", man)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert not re.search("@[A-Z]+@", open(man).read())

    r = run("make", "-s", "-C", ROOT, "uninstall", "PREFIX=/usr", f"DESTDIR={dest}")
    assert r.returncode == 0, r.stderr
    left = {os.path.relpath(os.path.join(d, f), dest) for d, _, fs in os.walk(dest) for f in fs}
    assert left == {"etc/socialauth/socialauth.conf"}, left  # settings are the admin's


@once
def test_man_page_covers_every_command_and_setting():
    man = open(os.path.join(ROOT, "etc", "socialauth.8")).read().replace("\\-", "-")
    usage = run(os.path.join(ROOT, "bin", "socialauth"), "--help").stdout
    commands = re.findall(r"^  ([a-z]+(?: [a-z-]+)?)\b", usage, re.M)
    assert len(commands) >= 8
    for cmd in commands:
        assert f".B {cmd}" in man, cmd
    # every setting of the parser's table, as `socialauth config defaults` lists them
    table = run(os.path.join(ROOT, "bin", "socialauth"), "config", "defaults").stdout
    keys = set(re.findall(r"^(?:# )?([a-z_]+) =", table, re.M))
    assert len(keys) > 25
    for key in keys:
        assert re.search(rf"\b{key}\b", man), key
    for status in "0123456":
        assert f".B {status}\n" in man


@once
def test_lighttpd_generator_refuses_a_tree_without_programs(open_dir):
    r = run(os.path.join(ROOT, "bin", "socialauth-lighttpd-conf"), "--port", "80", "--conf",
            os.path.join(ROOT, "etc", "socialauth.conf.example"), "--run-dir", open_dir, "--root", open_dir)
    assert r.returncode == 2 and r.stdout == ""
    assert f"no {open_dir}/etc/endpoints" in r.stderr


def write_conf(d, **extra):
    conf = os.path.join(d, "socialauth.conf")
    lines = {"db_home": os.path.join(d, "db"), "signing_key_file": os.path.join(d, "signing.key"),
             "google_client_ids": "x.apps.googleusercontent.com", **extra}
    with open(conf, "w") as f:
        f.writelines(f"{k} = {v}\n" for k, v in lines.items())
    return conf


def cli(conf, *args, user=None):
    cmd = [os.path.join(ROOT, "bin", "socialauth"), "--config", conf, *args]
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + cmd
    return run(*cmd)


@once
def test_init_as_root_gives_store_and_key_to_service_user(open_dir):
    conf = write_conf(open_dir, service_user=SERVICE_USER)
    r = cli(conf, "init")
    assert r.returncode == 0, r.stderr
    db, key = os.path.join(open_dir, "db"), os.path.join(open_dir, "signing.key")
    assert owner(db) == SERVICE_USER and os.stat(db).st_mode & 0o777 == 0o700
    assert owner(key) == SERVICE_USER and os.stat(key).st_mode & 0o777 == 0o600
    # Commands run as root create and touch store files as the store's owner.
    r = cli(conf, "user", "create", "--username", "rooted", "--email", "rooted@example.com")
    assert r.returncode == 0, r.stderr
    pk = json.loads(r.stdout)["pk"]
    assert cli(conf, "token", "mint", pk).returncode == 0
    foreign = [f for f in os.listdir(db) if owner(os.path.join(db, f)) != SERVICE_USER]
    assert foreign == []
    # ... so that the service user reads what root wrote.
    r = cli(conf, "user", "show", "rooted", user=SERVICE_USER)
    assert r.returncode == 0 and json.loads(r.stdout)["pk"] == pk, r.stderr
    assert cli(conf, "init").returncode == 0  # again: nothing changes hands


@once
def test_key_commands_as_root_leave_keys_to_the_store_owner(open_dir):
    """`key rotate|add|retire` run as root work as the store's owner: the key files they make
    stay readable to the endpoints (Apache/nginx run them as the service user)."""
    keys = os.path.join(open_dir, "keys")
    conf = write_conf(open_dir, service_user=SERVICE_USER, signing_key_dir=keys)
    assert cli(conf, "init").returncode == 0
    assert owner(keys) == SERVICE_USER
    r = cli(conf, "key", "rotate")
    assert r.returncode == 0, r.stderr
    first = r.stdout.strip()
    shared = os.path.join(open_dir, "shared.key")
    with open(os.open(shared, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write("s" * 48)  # a key file must be private (issue 9): the admin's own, mode 0600
    r = cli(conf, "key", "add", "shared-1", shared, "--signing")
    assert r.returncode == 0, r.stderr
    assert cli(conf, "key", "retire", first).returncode == 0
    foreign = [f for f in os.listdir(keys) if owner(os.path.join(keys, f)) != SERVICE_USER]
    assert os.listdir(keys) and foreign == []
    r = cli(conf, "key", "list", "--json", user=SERVICE_USER)
    assert r.returncode == 0, r.stderr
    listed = {k["kid"]: k["role"] for k in map(json.loads, r.stdout.splitlines())}
    assert listed == {"shared-1": "signing"}


@once
def test_init_refuses_a_store_or_key_of_another_owner(open_dir):
    os.mkdir(os.path.join(open_dir, "db"))  # root's
    conf = write_conf(open_dir, service_user=SERVICE_USER)
    r = cli(conf, "init")
    db = os.path.join(open_dir, "db")
    assert r.returncode == 1
    assert f"run `chown -R www-data:www-data {db}`" in r.stderr and "owned by root" in r.stderr
    assert os.listdir(db) == [] and not os.path.exists(os.path.join(open_dir, "signing.key"))
    os.chown(db, WWW.pw_uid, WWW.pw_gid)
    key = os.path.join(open_dir, "signing.key")
    with open(key, "w") as f:
        f.write("k" * 64)
    os.chmod(key, 0o600)
    r = cli(conf, "init")
    assert r.returncode == 1 and f"run `chown www-data:www-data {key}`" in r.stderr
    os.chown(key, WWW.pw_uid, WWW.pw_gid)
    assert cli(conf, "init").returncode == 0


@once
def test_init_with_unknown_service_user(open_dir):
    conf = write_conf(open_dir, service_user="no-such-user-here")
    r = cli(conf, "init")
    assert r.returncode == 4 and "service_user `no-such-user-here`: no such user" in r.stderr
    assert not os.path.exists(os.path.join(open_dir, "db"))


@once
def test_permission_errors_name_path_and_user(open_dir):
    conf = write_conf(open_dir)  # no service_user: root keeps what it makes
    assert cli(conf, "init").returncode == 0
    db = os.path.join(open_dir, "db")
    os.chmod(os.path.join(open_dir, "signing.key"), 0o600)
    os.chown(os.path.join(open_dir, "signing.key"), WWW.pw_uid, WWW.pw_gid)
    os.chmod(db, 0o755)  # the directory can be entered, its files are root's 0600
    r = cli(conf, "user", "list", user=SERVICE_USER)
    assert r.returncode == 5
    assert re.search(rf"store(?: {db})?: {db}/[a-z._]+: Permission denied \(as www-data; {db}/[a-z._]+ owned by root, mode 0600\)",
                     r.stderr), r.stderr
    # The endpoints say the same in the web server's log (here as a CGI program).
    env = {"SOCIALAUTH_CONF": conf, "REQUEST_METHOD": "GET", "REQUEST_URI": "/api/health/", "PATH": "/usr/bin:/bin"}
    r = run("setpriv", f"--reuid={SERVICE_USER}", f"--regid={SERVICE_USER}", "--clear-groups",
            os.path.join(ROOT, "cgi-bin", "health"), env=env)
    assert r.stdout.startswith("Status: 503")
    assert re.search(rf"{db}/[a-z._]+: Permission denied \(as www-data; .* owned by root", r.stderr), r.stderr
    os.chmod(db, 0o700)
    r = cli(conf, "user", "list", user=SERVICE_USER)
    assert f"store {db}: {db}/open.lock: Permission denied (as www-data; {db} owned by root, mode 0700)" \
        in r.stderr, r.stderr


@pytest.mark.skipif(not installed(), reason="make run SERVER=apache|cgi|nginx: runs in those passes")
def test_make_run_serves_with_the_web_server_itself():
    """`make run SERVER=...` from the checkout: the process it leaves running is Apache or nginx
    itself, serving the installed tree on PORT; Ctrl-C (SIGINT to the group) stops everything."""
    port = free_port()
    tree = install_tree()["prefix"]
    env = dict(os.environ, SERVER=server_kind(), PORT=str(port), SA_RUN_TREE=tree)
    p = subprocess.Popen(["make", "-s", "--no-print-directory", "run"], cwd=ROOT, env=env,
                         start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while True:
            try:
                r = requests.get(f"http://127.0.0.1:{port}/api/health/", timeout=2)
                if r.status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert p.poll() is None and time.time() < deadline, p.stderr.read() if p.poll() is not None else "timeout"
            time.sleep(0.2)
        assert r.json() == {"status": "ok", "store": "ok"}
        page = requests.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert page.status_code == 200 and "<h1>socialauth</h1>" in page.text
        # make's recipe execs socialauth-run, which execs the server: one process.
        server = "apache2" if server_kind() in ("apache", "cgi") else "nginx"
        children = run("pgrep", "-P", str(p.pid), "-a").stdout
        assert re.search(rf"^\d+ {server}\b", children, re.M), children
        listener = run("ss", "-Hltnp", f"sport = :{port}").stdout
        assert f'"{server}"' in listener, listener
    finally:
        os.killpg(p.pid, signal.SIGINT)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    deadline = time.time() + 10  # Apache lets its children finish; zombies wait for init
    while True:
        left = [line for line in run("pgrep", "-g", str(p.pid), "-a").stdout.splitlines()
                if not line.endswith("<defunct>")]
        if not left:
            break
        assert time.time() < deadline, left
        time.sleep(0.2)


@pytest.mark.skipif(server_kind() != "nginx", reason="nginx's supervisor (multiwatch): the nginx pass")
def test_nginx_programs_are_restarted_after_kill(server):
    """spawn-fcgi alone never replaces a dead program: after two rounds of kill -9 of every
    user-me process, multiwatch has started new ones and user-me answers again."""
    u = server.create_user("phoenix")
    token = server.mint(u["pk"])["access"]
    auth = {"Authorization": "Bearer " + token}
    for _ in range(2):
        # The programs themselves (named user-me), not multiwatch, which holds the socket.
        pids = run("pgrep", "-x", "user-me").stdout.split()
        mine = [p for p in pids if open(f"/proc/{p}/cmdline").read().startswith(server.libexec)]
        assert mine
        for p in mine:
            os.kill(int(p), signal.SIGKILL)
        deadline = time.time() + 5
        while True:
            r = server.get("/api/auth/user/", headers=auth)
            if r.status_code == 200:
                break
            assert r.status_code == 502 and time.time() < deadline, r.status_code
            time.sleep(0.1)
        assert r.json()["pk"] == u["pk"]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_over_the_web_servers_limit_is_413_not_500(server, chunked):
    """A body over the shipped configurations' 1 MiB is refused by the web server with its own
    413, behind every server. mod_fcgid alone (FcgidMaxRequestLen) ends it in a 500."""
    body = b"x" * (3 * 1024 * 1024)
    data = (body[i:i + 65536] for i in range(0, len(body), 65536)) if chunked else body
    try:
        r = server.post("/api/auth/token/verify/", data=data,
                        headers={"Content-Type": "application/json"})
    except requests.ConnectionError:
        pytest.fail("connection reset instead of an answer")
    assert r.status_code == 413, (r.status_code, r.text[:200])


@once
def test_restore_as_root_beside_a_root_owned_directory(open_dir):
    """`restore` as root where db_home's parent is root's (as /var/lib/socialauth after
    `make install`): the copy is made beside db_home by root, filled as the store's owner, and
    the restored store is the service user's and readable to it."""
    conf = write_conf(open_dir, service_user=SERVICE_USER)
    assert cli(conf, "init").returncode == 0
    r = cli(conf, "user", "create", "--username", "kept", "--email", "kept@example.com")
    pk = json.loads(r.stdout)["pk"]
    backup = os.path.join(tempfile.mkdtemp(prefix="sa-backup-"), "b")  # /tmp: the owner may write
    os.chmod(os.path.dirname(backup), 0o777)
    try:
        assert cli(conf, "backup", backup).returncode == 0
        db = os.path.join(open_dir, "db")
        os.rename(db, db + ".old")
        r = cli(conf, "restore", backup)
        assert r.returncode == 0, r.stderr
        assert owner(db) == SERVICE_USER and os.stat(db).st_mode & 0o777 == 0o700
        assert [f for f in os.listdir(db) if owner(os.path.join(db, f)) != SERVICE_USER] == []
        assert [f for f in os.listdir(open_dir) if ".restore-" in f] == []
        r = cli(conf, "user", "show", "kept", user=SERVICE_USER)
        assert r.returncode == 0 and json.loads(r.stdout)["pk"] == pk, r.stderr
    finally:
        shutil.rmtree(os.path.dirname(backup), ignore_errors=True)


def test_chunked_body_reaches_the_program(server):
    """A body sent chunked (no Content-Length) is read like an announced one behind every
    server: Apache mod_cgid passes it to a CGI program without CONTENT_LENGTH."""
    u = server.create_user("chunky")
    token = server.mint(u["pk"])["access"]
    body = json.dumps({"token": token}).encode()
    r = server.post("/api/auth/token/verify/", data=iter([body[:10], body[10:]]),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and r.json() == {}, (r.status_code, r.text[:200])
    r = server.post("/api/auth/token/verify/", data=iter([b'{"token":"', b"a" * (65 * 1024), b'"}']),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json() == {"detail": "Request body is too large."}


@once
def test_backup_as_root_into_a_root_directory_names_the_user(open_dir):
    """`backup` run as root works as the store's owner: a target that user may not create
    is refused, naming the user and the directory's owner and mode."""
    conf = write_conf(open_dir, service_user=SERVICE_USER)
    assert cli(conf, "init").returncode == 0
    target = os.path.join(open_dir, "bk")
    r = cli(conf, "backup", target)
    assert r.returncode != 0 and not os.path.exists(target)
    assert f"cannot create {target}: Permission denied (as www-data; {open_dir} owned by root, mode 0755)" \
        in r.stderr, r.stderr


@once
def test_store_that_cannot_be_created_names_the_error_and_user(open_dir):
    """db_home in a directory the store's user may not write: the message gives errno's own
    text (not one the owner lookup left behind), the user and the directory's owner."""
    sub = os.path.join(open_dir, "locked")
    os.mkdir(sub, 0o755)  # root's
    conf = write_conf(open_dir, db_home=os.path.join(sub, "db"))
    key = os.path.join(open_dir, "signing.key")
    with open(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write("k" * 64)
    os.chown(key, WWW.pw_uid, WWW.pw_gid)
    r = cli(conf, "init", user=SERVICE_USER)
    assert f"cannot create {sub}/db: Permission denied (as www-data; {sub} owned by root, mode 0755)" \
        in r.stderr, r.stderr
