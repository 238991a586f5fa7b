"""A real socialauth behind a real web server on a free loopback port, with a fresh store.

Server(tmpdir, **settings) writes a socialauth.conf (settings override the defaults below),
runs `socialauth init` (unless init=False), renders the web server's configuration with the project's generator,
starts the server in the foreground and waits until /api/health/ answers. stop() ends the
server and every endpoint process it started.

Which web server: SA_SERVER (or pytest --server), one of SERVERS:
- lighttpd      mod_fastcgi, the checkout's build (bin/socialauth-lighttpd-conf), as today;
- lighttpd-cgi  lighttpd's mod_cgi, a process per request (same generator, --cgi);
- apache        Apache 2.4 + mod_fcgid (bin/socialauth-apache-conf --mode fcgid);
- cgi           Apache 2.4 + mod_cgid with CGIPassAuth On (--mode cgi), as shared hosts run;
- nginx         nginx + spawn-fcgi under multiwatch on unix sockets (bin/socialauth-nginx-conf,
                bin/socialauth-spawn).
Apache and nginx run their children as the service user (www-data), never as root, and the
checkout may sit under a home that user cannot enter: those stacks run from a tree installed
by `make install PREFIX=<temporary directory>` (SA_INSTALLED names one already made); each
server's directory (the test's tmp_path) is made reachable (o+x on its parents, which pytest
makes 0700) and everything in it is given to www-data at each start; `socialauth init` and the
CLI run as root as the tests do, and leave every store file to www-data (service_user).
"""

import atexit
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import requests
import urllib3

import secret_watch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SIGNING_KEY = "test-signing-key-0123456789abcdef0123456789abcdef"
SERVERS = ("lighttpd", "lighttpd-cgi", "apache", "cgi", "nginx")
SERVICE_USER = "www-data"


def server_kind():
    kind = os.environ.get("SA_SERVER", "lighttpd")
    if kind not in SERVERS:
        raise RuntimeError(f"SA_SERVER={kind}: expected one of {', '.join(SERVERS)}")
    return kind


def installed():
    """True when this kind runs from an installed tree as the service user."""
    return server_kind() in ("apache", "cgi", "nginx")


_tree = {}


def install_tree():
    """PREFIX of an installed tree (made once per test run unless SA_INSTALLED names one),
    and a directory owned by the service user for the servers' own files."""
    if not _tree:
        prefix = os.environ.get("SA_INSTALLED")
        if not prefix:
            prefix = tempfile.mkdtemp(prefix="socialauth-tree-")
            atexit.register(shutil.rmtree, prefix, True)
            subprocess.run(["make", "-s", "-C", ROOT, "install", f"PREFIX={prefix}"], check=True,
                           stdout=subprocess.DEVNULL)
        os.chmod(prefix, 0o755)
        work = tempfile.mkdtemp(prefix="servers-", dir=prefix)
        os.chmod(work, 0o755)
        user = pwd.getpwnam(SERVICE_USER)
        os.chown(work, user.pw_uid, user.pw_gid)
        _tree.update(prefix=prefix, work=work, uid=user.pw_uid, gid=user.pw_gid)
    return _tree


def open_path(path):
    """Let the service user reach `path`: pytest makes its directories 0700 (as root)."""
    while path != "/":
        mode = os.stat(path).st_mode
        if not mode & 0o001:
            os.chmod(path, (mode & 0o7777) | 0o011)
        path = os.path.dirname(path)


class PortTaken(Exception):
    """The web server could not bind its port."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, tmpdir, procs=1, extra_lighttpd=None, init=True, **settings):
        self.kind = server_kind()
        if installed():
            tree = install_tree()
            self.prefix = tree["prefix"]
            self.owner = (tree["uid"], tree["gid"])
            open_path(str(tmpdir))
            self.cli_path = os.path.join(self.prefix, "bin", "socialauth")
            self.libexec = os.path.join(self.prefix, "lib", "socialauth")
            self.htdocs = os.path.join(self.prefix, "share", "socialauth", "htdocs")
        else:
            self.prefix = None
            self.owner = None
            self.cli_path = os.path.join(ROOT, "bin", "socialauth")
            self.libexec = ROOT
            self.htdocs = os.path.join(ROOT, "htdocs")
        self.dir = str(tmpdir)
        self.db_home = os.path.join(self.dir, "db")
        self.conf = os.path.join(self.dir, "socialauth.conf")
        self.settings = {
            "db_home": self.db_home,
            "signing_key": SIGNING_KEY,
            "google_client_ids": "test-client.apps.googleusercontent.com",
            "cors_allowed_origins": "http://127.0.0.1:3000",
            "max_procs": str(procs),
        }
        if installed():
            self.settings["service_user"] = SERVICE_USER
        self.settings.update({k: str(v) for k, v in settings.items() if v is not None})
        for k in [k for k, v in settings.items() if v is None]:
            self.settings.pop(k, None)
        # It holds the signing key inline, so it must be private (config.h).
        with open(os.open(self.conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            for k, v in self.settings.items():
                f.write(f"{k} = {v}\n")
        self.give_to_service_user()
        if init:  # init=False: serve a store that is already in db_home, as it is
            self.cli_ok("init")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.run = os.path.join(self.dir, "run")
        os.makedirs(self.run, exist_ok=True)
        self.give_to_service_user()
        self.errorlog = os.path.join(self.dir, "error.log")
        secret_watch.logs.add(self.errorlog)
        for name in ("signing_key", "google_client_secret"):
            secret_watch.add(self.settings.get(name))
        self.programs_log = os.path.join(self.dir, "programs.log")
        secret_watch.logs.add(self.programs_log)
        self.server_conf = os.path.join(self.dir, f"{self.kind}.conf")
        self.procs_setting, self.extra_lighttpd = procs, extra_lighttpd
        self.render_conf()
        self.lighttpd_conf = self.server_conf
        self.session = requests.Session()
        # lighttpd closes a keep-alive connection after 5 s idle; a test that waited longer
        # (CLI work, sleeps) may send its next request on the closed one. Safe methods are
        # sent again once then; unsafe ones never (a replayed refresh would be a reuse).
        retry = urllib3.util.Retry(total=1, connect=1, read=1, status=0, redirect=0,
                                   allowed_methods=frozenset(["GET", "HEAD", "OPTIONS"]))
        self.session.mount("http://", requests.adapters.HTTPAdapter(max_retries=retry))
        self.start()

    def render_conf(self):
        with open(self.server_conf, "w") as f:
            subprocess.run(self.render(self.procs_setting, self.extra_lighttpd), check=True, stdout=f)

    def give_to_service_user(self):
        """Behind Apache and nginx the programs run as www-data: everything in this server's
        directory is theirs (settings, store, run directory), and so are the files the
        settings name (`*_file`)."""
        if not self.owner:
            return
        for d, dirs, files in os.walk(self.dir):
            for name in [d] + [os.path.join(d, f) for f in dirs + files]:
                os.lchown(name, *self.owner)
        for key, value in self.settings.items():  # key files a test keeps elsewhere
            if key.endswith("_file") and os.path.exists(value):
                open_path(os.path.dirname(value))
                os.lchown(value, *self.owner)

    def tool(self, name):
        return os.path.join(self.libexec, "bin", name)

    def render(self, procs, extra_lighttpd):
        """The generator command that prints this kind's configuration."""
        if self.kind.startswith("lighttpd"):
            tool = self.tool("socialauth-lighttpd-conf")
            args = [tool, "--port", str(self.port),
                    "--conf", self.conf, "--run-dir", self.run, "--errorlog", self.errorlog]
            with open(tool) as f:   # an older release's generator (the upgrade tests) has none
                if "--sync-procs" in f.read():
                    # as many as the other endpoints (the generator's default is 8 for these)
                    args += ["--sync-procs", str(procs)]
            if self.kind == "lighttpd-cgi":
                args.append("--cgi")
            if extra_lighttpd:
                extra = os.path.join(self.dir, "extra.conf")
                with open(extra, "w") as f:
                    f.write(extra_lighttpd)
                args += ["--extra", extra]
            return args
        if self.kind in ("apache", "cgi"):
            return [self.tool("socialauth-apache-conf"), "--mode", "fcgid" if self.kind == "apache" else "cgi",
                    "--part", "full", "--conf", self.conf, "--cgi-bin", os.path.join(self.libexec, "cgi-bin"),
                    "--htdocs", self.htdocs, "--port", str(self.port), "--run-dir", self.run,
                    "--errorlog", self.errorlog]
        return [self.tool("socialauth-nginx-conf"), "--part", "full", "--port", str(self.port),
                "--run-dir", self.run, "--htdocs", self.htdocs, "--errorlog", self.errorlog]

    def commands(self):
        """The processes to start, each in its own process group; the web server last."""
        if self.kind.startswith("lighttpd"):
            return [["lighttpd", "-D", "-f", self.server_conf]]
        if self.kind in ("apache", "cgi"):
            return [["apache2", "-DFOREGROUND", "-f", self.server_conf]]
        return [[self.tool("socialauth-spawn"), "--conf", self.conf, "--cgi-bin",
                 os.path.join(self.libexec, "cgi-bin"), "--run-dir", self.run],
                ["nginx", "-p", self.run, "-c", self.server_conf, "-e", self.errorlog]]

    def start(self):
        """Start the server (again) with the same settings and wait until it answers. When
        its port was taken meanwhile (other test runs share the loopback ports), it moves to
        a new one (self.base follows)."""
        for attempt in range(3):
            try:
                return self.start_once()
            except PortTaken:
                self.port = free_port()
                self.base = f"http://127.0.0.1:{self.port}"
                self.render_conf()
        return self.start_once()

    def start_once(self):
        self.give_to_service_user()
        self.procs = []
        with open(self.programs_log, "a") as out:
            for cmd in self.commands():
                self.procs.append(subprocess.Popen(cmd, start_new_session=True,
                                                   stdout=out, stderr=out))
        self.proc = self.procs[-1]
        deadline = time.time() + 15
        while True:
            try:
                if self.session.get(self.base + "/api/health/", timeout=2).status_code in (200, 503):
                    break
            except requests.ConnectionError:
                pass
            if any(p.poll() is not None for p in self.procs) or time.time() > deadline:
                self.stop()
                log = self.log()
                if re.search(r"Address already in use|could not bind|bind\(\) to .* failed", log[-2000:]):
                    raise PortTaken(log)
                raise RuntimeError(f"{self.kind} did not start:\n" + log)
            time.sleep(0.05)

    def restart(self):
        self.stop()
        self.start()

    def log(self):
        """The web server's error log and what the programs wrote to stderr outside it."""
        text = ""
        for path in (self.errorlog, self.programs_log):
            try:
                with open(path, errors="replace") as f:
                    text += f.read()
            except OSError:
                pass
        return text

    def url(self, path):
        return self.base + path

    def request(self, method, path, **kw):
        """Every answer any test gets through here is checked: a 500 is always a bug."""
        kw.setdefault("timeout", 20)
        r = self.session.request(method, self.base + path, **kw)
        assert r.status_code != 500, f"500 from {method} {path}: {r.text}\n{self.log()}"
        return r

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def cli(self, *args, input=None):
        # A Server made with __new__ (test_upgrade_text's older build) has no cli_path: ROOT's.
        cli_path = getattr(self, "cli_path", os.path.join(ROOT, "bin", "socialauth"))
        return subprocess.run([cli_path, "--config", self.conf, *args],
                              capture_output=True, text=True, input=input, timeout=60)

    def cli_ok(self, *args):
        r = self.cli(*args)
        assert r.returncode == 0, f"socialauth {' '.join(args)} failed: {r.stderr}"
        return r.stdout

    def create_user(self, username, email=None, *flags, **names):
        args = ["user", "create", "--username", username, "--email", email or f"{username}@example.com"]
        if names.get("first_name"):
            args += ["--first-name", names["first_name"]]
        if names.get("last_name"):
            args += ["--last-name", names["last_name"]]
        return json.loads(self.cli_ok(*args, *flags))

    def mint(self, user):
        tokens = json.loads(self.cli_ok("token", "mint", user))
        secret_watch.collect(tokens)
        return tokens

    def stop(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                # socialauth-spawn (nginx's programs) alone: it stops its supervisors in order.
                # A TERM to its whole group races multiwatch, which then restarts the programs
                # it sees die and never ends. The web servers get it as a group, as before.
                if self.kind == "nginx" and proc is not self.proc:
                    proc.send_signal(signal.SIGTERM)
                else:
                    os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            try:  # endpoint processes are in the server's group: none may outlive the test
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
