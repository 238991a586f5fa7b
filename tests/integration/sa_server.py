"""A real socialauth behind a real lighttpd on a free loopback port, with a fresh store.

Server(tmpdir, **settings) writes a socialauth.conf (settings override the defaults below),
runs `socialauth init` (unless init=False), renders the lighttpd configuration with bin/socialauth-lighttpd-conf,
starts `lighttpd -D` and waits until /api/health/ answers. stop() ends lighttpd and every
endpoint process it started.
"""

import json
import os
import signal
import socket
import subprocess
import time

import requests
import urllib3

import secret_watch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SIGNING_KEY = "test-signing-key-0123456789abcdef0123456789abcdef"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, tmpdir, procs=1, extra_lighttpd=None, init=True, **settings):
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
        self.settings.update({k: str(v) for k, v in settings.items() if v is not None})
        for k in [k for k, v in settings.items() if v is None]:
            self.settings.pop(k, None)
        # It holds the signing key inline, so it must be private (config.h).
        with open(os.open(self.conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            for k, v in self.settings.items():
                f.write(f"{k} = {v}\n")
        if init:  # init=False: serve a store that is already in db_home, as it is
            self.cli_ok("init")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        run = os.path.join(self.dir, "run")
        os.makedirs(run, exist_ok=True)
        self.errorlog = os.path.join(self.dir, "error.log")
        secret_watch.logs.add(self.errorlog)
        for name in ("signing_key", "google_client_secret"):
            secret_watch.add(self.settings.get(name))
        args = [os.path.join(ROOT, "bin", "socialauth-lighttpd-conf"), "--port", str(self.port),
                "--conf", self.conf, "--run-dir", run, "--errorlog", self.errorlog]
        if extra_lighttpd:
            extra = os.path.join(self.dir, "extra.conf")
            with open(extra, "w") as f:
                f.write(extra_lighttpd)
            args += ["--extra", extra]
        self.lighttpd_conf = os.path.join(self.dir, "lighttpd.conf")
        with open(self.lighttpd_conf, "w") as f:
            subprocess.run(args, check=True, stdout=f)
        self.session = requests.Session()
        # lighttpd closes a keep-alive connection after 5 s idle; a test that waited longer
        # (CLI work, sleeps) may send its next request on the closed one. Safe methods are
        # sent again once then; unsafe ones never (a replayed refresh would be a reuse).
        retry = urllib3.util.Retry(total=1, connect=1, read=1, status=0, redirect=0,
                                   allowed_methods=frozenset(["GET", "HEAD", "OPTIONS"]))
        self.session.mount("http://", requests.adapters.HTTPAdapter(max_retries=retry))
        self.start()

    def start(self):
        """Start lighttpd (again) with the same settings and wait until it answers."""
        self.proc = subprocess.Popen(["lighttpd", "-D", "-f", self.lighttpd_conf],
                                     start_new_session=True)
        deadline = time.time() + 15
        while True:
            try:
                if self.session.get(self.base + "/api/health/", timeout=2).status_code in (200, 503):
                    break
            except requests.ConnectionError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError("lighttpd did not start:\n" + self.log())
            time.sleep(0.05)

    def restart(self):
        self.stop()
        self.start()

    def log(self):
        try:
            with open(self.errorlog) as f:
                return f.read()
        except OSError:
            return ""

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
        return subprocess.run([os.path.join(ROOT, "bin", "socialauth"), "--config", self.conf, *args],
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
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        try:  # endpoint processes are in lighttpd's session; make sure none outlives the test
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
