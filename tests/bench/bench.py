#!/usr/bin/python3
"""socialauth's benchmark: wrk against the endpoints behind a real lighttpd, as ratios to a
hello-world FastCGI program measured in the same run, and against the tutorial's Django stack.

    make bench                  (BENCH=short|medium|long; builds a release first)
    /usr/bin/python3 tests/bench/bench.py --mode short|long [options]   (binaries as built)

What it does, all on 127.0.0.1 and bounded in time:
  1. builds tests/bench/hello.c and measures it behind a minimal lighttpd (one fastcgi.server
     prefix, max-procs = number of cores): the true floor, the reference of every ratio,
  2. starts a fake Google (tests/fakes/fake_google.py) and lighttpd as `make run` configures
     it (bin/socialauth-lighttpd-conf: prefix routing, release binaries, max_procs = number of
     cores, sync_rotation = true, the example configuration's lifetimes), with the floor added
     through --extra as a regular-expression condition (the old floor, kept for comparison);
     later a second one with sync_rotation = false for the unsynced rows,
  3. starts the tutorial's Django backend (tests/bench/django) under gunicorn, one sync worker
     per core, DEBUG off, SQLite, twice: as the tutorial (no token blacklist) and with simplejwt's
     token_blacklist app (each rotation blacklists the old token in the database),
  4. drives each case with wrk: a warm-up, then at each concurrency level several timed rounds;
     reports the median of the rounds' requests/s, p50 and p99 latency, their ratios to the true
     floor at the same concurrency, CPU time per request of the endpoint processes and of
     lighttpd, requests per log flush for the writing cases, and each endpoint process's
     private memory after the case,
  5. times a freshly started process of each endpoint to its first answer, and sends 100,000
     more requests at chosen endpoints and compares their processes' private memory
     (Private_Clean + Private_Dirty, /proc/PID/smaps_rollup) before and after,
  6. prints a table and writes tests/bench/results/latest.json.
Every server it starts is stopped at the end, on errors and on Ctrl-C. Speed is reported, never
asserted: the exit status is non-zero only when the benchmark itself could not run (or, with
--strict, when a case answered errors).
"""

import argparse
import concurrent.futures
import datetime
import http.client
import itertools
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BENCH_DIR = os.path.join(ROOT, "tests", "bench")
LUA_DIR = os.path.join(BENCH_DIR, "lua")
DJANGO_DIR = os.path.join(BENCH_DIR, "django")
RESULTS_DIR = os.path.join(BENCH_DIR, "results")
CGI_DIR = os.path.join(ROOT, "cgi-bin")
PYTHON = "/usr/bin/python3"

sys.path.insert(0, os.path.join(ROOT, "tests", "fakes"))
from google_client import GoogleClient  # noqa: E402

sys.path.insert(0, BENCH_DIR)
from fcgi_client import Endpoint, encode_request, parse_answer, private_kib  # noqa: E402

CORES = os.cpu_count() or 1
POST_TOKEN_CHARS = 260     # about an access token's length: the POST floor's body
RETURNING_ACCOUNTS = 256
POSTED_READS = ("token-verify",)   # cases compared with the POST floor too   # accounts the returning sign-in cases cycle over
SYNC_PROCS = 0   # --sync-procs; 0: the generator's default (as many as the other endpoints)
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Per mode: concurrency levels, seconds of warm-up, seconds per round, rounds per level, and for
# the leak check the requests sent at each endpoint (0: no leak check).
MODES = {
    "short": {"conns": [8, 32, 64], "warmup": 1, "duration": 1, "rounds": 2,
              "leak_requests": 100_000, "pool": 1500, "spawns": 5},
    # medium: the README's table (short's 1-second rounds move with every hiccup of a VM)
    "medium": {"conns": [8, 32, 64], "warmup": 2, "duration": 3, "rounds": 3,
               "leak_requests": 100_000, "pool": 3000, "spawns": 9},
    "long": {"conns": [8, 32, 64], "warmup": 3, "duration": 5, "rounds": 5,
             "leak_requests": 100_000, "pool": 4000, "spawns": 15},
}
LEAK_CASES = ["token-refresh", "google-login", "user-me", "token-verify", "posts"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class BenchError(Exception):
    """The benchmark cannot go on (a server did not start, a tool is missing...)."""


# ---------------------------------------------------------------------------------------------
# Small HTTP client for setting up (logins, minting); the load itself is wrk's.

class Http:
    """Keep-alive HTTP/1.1 to 127.0.0.1:port. TCP_QUICKACK before each read, because Python's
    http.server writes headers and body separately and a delayed ACK would cost 40 ms each."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        for attempt in (1, 2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                    self.conn.connect()
                    self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                data = json.dumps(body).encode() if body is not None else None
                hdrs = {"Content-Type": "application/json"} if data is not None else {}
                hdrs.update(headers or {})
                self.conn.request(method, path, data, hdrs)
                self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
                res = self.conn.getresponse()
                payload = res.read()
                if res.will_close:
                    self.close()
                return res.status, payload
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise

    def json(self, method, path, body=None, headers=None):
        status, payload = self.request(method, path, body, headers)
        try:
            return status, json.loads(payload)
        except ValueError:
            return status, {"raw": payload.decode("utf-8", "replace")}

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def pmap(fn, items, workers):
    """[fn(item) for item in items] on `workers` threads, in the items' order."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def parallel(port, items, fn, workers=16):
    """fn(http, item) for each item on `workers` threads, each thread with its own keep-alive
    connection to 127.0.0.1:port; returns the results in the items' order."""
    local = threading.local()
    opened = []

    def run(item):
        if not hasattr(local, "http"):
            local.http = Http(port)
            opened.append(local.http)
        return fn(local.http, item)

    try:
        return pmap(run, items, workers)
    finally:
        for h in opened:
            h.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port, path, ok, proc, what, seconds=30):
    """Poll until GET path answers a status in `ok`; fail if proc exits or time runs out."""
    deadline = time.time() + seconds
    h = Http(port)
    try:
        while time.time() < deadline:
            if proc.poll() is not None:
                raise BenchError(f"{what} exited with status {proc.returncode}")
            try:
                if h.request("GET", path)[0] in ok:
                    return
            except OSError:
                pass
            time.sleep(0.1)
    finally:
        h.close()
    raise BenchError(f"{what} did not answer GET {path} within {seconds} s")


# ---------------------------------------------------------------------------------------------
# Processes: resident memory and CPU time from /proc.

def proc_children(ppid):
    """PIDs whose parent is ppid."""
    kids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == ppid:
            kids.append(int(name))
    return sorted(kids)


def proc_comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def proc_memory(pid):
    """{"VmRSS": kB, "RssAnon": kB, "RssFile": kB, "RssShmem": kB, "Private": kB} of a
    process; Private is Private_Clean + Private_Dirty from /proc/PID/smaps_rollup, the memory
    the process does not share (RSS also counts shared libraries and the store's regions)."""
    out = {}
    try:
        out["Private"] = private_kib(pid)
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                    out[key] = int(rest.split()[0])
    except OSError:
        pass
    return out


def proc_cpu_seconds(pid):
    """User + system CPU seconds a process has used."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# Cases whose requests commit: the store's log is read around them (group commit).
WRITE_KEYS = ("token-refresh", "google-login", "first-login")


def log_stats(target):
    """Berkeley DB's log counters of a socialauth server's store (db5.3_stat -l): flushes,
    bytes written, the most commits one flush covered. {} when not a store or no tool."""
    home = getattr(target, "settings", {}).get("db_home")
    if not home or shutil.which("db5.3_stat") is None:
        return {}
    r = subprocess.run(["db5.3_stat", "-h", home, "-l"], capture_output=True, text=True,
                       timeout=30)
    out = {}
    for line in r.stdout.splitlines():
        value, _, label = line.partition("\t")
        units = re.findall(r"(\d+)(GB|MB|KB|B)?", value)
        number = sum(int(n) * {"GB": 1 << 30, "MB": 1 << 20, "KB": 1 << 10}.get(u, 1)
                     for n, u in units)
        key = {"Total log file flushes": "flushes", "Log bytes written": "bytes",
               "Maximum commits in a log flush": "max_commits_per_flush"}.get(label.strip())
        if key and units:
            out[key] = number
    return out


def log_delta(before, after, requests):
    """Requests per log flush and log bytes per request over a level's rounds."""
    if not before or not after:
        return {}
    flushes = after.get("flushes", 0) - before.get("flushes", 0)
    return {"flushes": flushes,
            "requests_per_flush": round(requests / flushes, 2) if flushes else None,
            "log_bytes_per_request": round((after.get("bytes", 0) - before.get("bytes", 0))
                                           / max(requests, 1)),
            "max_commits_per_flush": after.get("max_commits_per_flush")}


def machine_cpu():
    """(busy, iowait, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle, iowait = values[3], values[4]
    total = sum(values[:8])
    return total - idle - iowait, iowait, total


# ---------------------------------------------------------------------------------------------
# Servers

class Servers:
    """Everything started, so that it is all stopped at the end, whatever happens."""

    def __init__(self):
        self.items = []

    def add(self, server):
        self.items.append(server)
        return server

    def stop(self, server):
        """Stop one server now (it is no longer needed)."""
        if server in self.items:
            self.items.remove(server)
        server.stop()

    def stop_all(self):
        while self.items:
            server = self.items.pop()
            try:
                server.stop()
            except Exception as exc:  # keep stopping the others
                log(f"bench: stopping {server!r}: {exc}")


def stop_group(proc, seconds=10):
    """SIGTERM the process group led by proc, then SIGKILL whatever is left of it."""
    if proc is None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass


class SocialauthServer:
    """lighttpd serving socialauth's endpoints (and the floor) with a fresh store.

    name       a label (directory name under the work directory)
    settings   socialauth.conf keys overriding the production defaults below
    floor      path of the hello binary to serve at /bench/hello/, or None
    """

    def __init__(self, workdir, name, google_settings, settings=None, floor=None):
        self.name = name
        self.dir = os.path.join(workdir, name)
        self.run_dir = os.path.join(self.dir, "run")
        os.makedirs(self.run_dir)
        self.conf = os.path.join(self.dir, "socialauth.conf")
        # The example configuration's production values; max_procs = cores.
        self.settings = {
            "db_home": os.path.join(self.dir, "db"),
            "signing_key_file": os.path.join(self.dir, "signing.key"),
            "access_token_lifetime": "5m",
            "refresh_token_lifetime": "7d",
            "rotate_refresh_tokens": "true",
            "reuse_grace": "30s",
            "leeway": "0s",
            "sync_rotation": "true",
            "cors_allowed_origins": "http://127.0.0.1:3000",
            "cookie_mode": "false",
            "max_body": "64k",
            "max_procs": str(CORES),
        }
        self.settings.update(google_settings)
        self.settings.update(settings or {})
        # It holds the signing key inline, so it must be private (config.h).
        with open(os.open(self.conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            for key, value in self.settings.items():
                f.write(f"{key} = {value}\n")
        self.cli("init")
        self.port = free_port()
        extra = None
        if floor:
            extra = os.path.join(self.dir, "floor.conf")
            with open(extra, "w") as f:
                f.write('$HTTP["url"] =~ "^/bench/hello/?$" {\n'
                        '    fastcgi.server = ( "/" => ( (\n'
                        f'        "socket"      => "{self.run_dir}/hello.sock",\n'
                        f'        "bin-path"    => "{floor}",\n'
                        f'        "max-procs"   => {CORES},\n'
                        '        "check-local" => "disable",\n'
                        '    ) ) )\n}\n')
        args = [os.path.join(ROOT, "bin", "socialauth-lighttpd-conf"), "--port", str(self.port),
                "--conf", self.conf, "--run-dir", self.run_dir, "--procs", str(CORES),
                *(["--sync-procs", str(SYNC_PROCS)] if SYNC_PROCS else []),
                "--errorlog", os.path.join(self.dir, "error.log")]
        if extra:
            args += ["--extra", extra]
        self.lighttpd_conf = os.path.join(self.dir, "lighttpd.conf")
        with open(self.lighttpd_conf, "w") as f:
            subprocess.run(args, check=True, stdout=f, timeout=30)
        self.proc = subprocess.Popen(["lighttpd", "-D", "-f", self.lighttpd_conf],
                                     start_new_session=True, stdin=subprocess.DEVNULL)
        try:
            wait_http(self.port, "/api/health/", (200,), self.proc, f"lighttpd ({name})")
        except BenchError as exc:
            raise BenchError(f"{exc}\n{self.error_log()}") from None
        self.url = f"http://127.0.0.1:{self.port}"

    def __repr__(self):
        return f"<lighttpd {self.name} :{getattr(self, 'port', '?')}>"

    def cli(self, *args):
        r = subprocess.run([os.path.join(ROOT, "bin", "socialauth"), "--config", self.conf, *args],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise BenchError(f"socialauth {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def error_log(self):
        try:
            with open(os.path.join(self.dir, "error.log")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def processes(self):
        return lighttpd_processes(self.proc)

    def stop(self):
        stop_group(getattr(self, "proc", None))


def lighttpd_processes(proc):
    """{name: [pid, ...]} for lighttpd itself and each FastCGI program it spawned."""
    out = {"lighttpd": [proc.pid]}
    for pid in proc_children(proc.pid):
        out.setdefault(proc_comm(pid), []).append(pid)
    return out


class FloorServer:
    """The true floor: hello.c behind a minimal lighttpd configuration, one fastcgi.server
    prefix and nothing else, max-procs = number of cores (as many processes as each endpoint
    of the main server has). Every ratio in the table is to this server's requests/s."""

    def __init__(self, workdir, floor):
        self.name = "floor-minimal"
        self.dir = os.path.join(workdir, self.name)
        os.makedirs(self.dir)
        self.port = free_port()
        self.lighttpd_conf = os.path.join(self.dir, "lighttpd.conf")
        with open(self.lighttpd_conf, "w") as f:
            f.write(f'server.bind = "127.0.0.1"\nserver.port = {self.port}\n'
                    f'server.document-root = "{self.dir}"\n'
                    f'server.errorlog = "{self.dir}/error.log"\n'
                    'server.max-connections = 4096\nserver.max-fds = 8192\n'
                    'server.modules += ( "mod_fastcgi" )\n'
                    'fastcgi.server = ( "/bench/hello/" => ( (\n'
                    f'    "socket" => "{self.dir}/hello.sock", "bin-path" => "{floor}",\n'
                    f'    "max-procs" => {CORES}, "check-local" => "disable",\n'
                    ') ) )\n')
        self.proc = subprocess.Popen(["lighttpd", "-D", "-f", self.lighttpd_conf],
                                     start_new_session=True, stdin=subprocess.DEVNULL)
        wait_http(self.port, "/bench/hello/", (200,), self.proc, "lighttpd (minimal floor)")
        self.url = f"http://127.0.0.1:{self.port}"

    def __repr__(self):
        return f"<lighttpd floor :{self.port}>"

    def processes(self):
        return lighttpd_processes(self.proc)

    def stop(self):
        stop_group(getattr(self, "proc", None))


class DjangoServer:
    """The tutorial's Django backend under gunicorn, one sync worker per core, fresh SQLite."""

    def __init__(self, workdir, name, blacklist=False):
        self.name = name
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir)
        self.env = dict(os.environ)
        self.env.update({
            "BENCH_DJANGO_DB": os.path.join(self.dir, "db.sqlite3"),
            "BENCH_DJANGO_KEY": secrets.token_hex(32),
            "BENCH_DJANGO_BLACKLIST": "1" if blacklist else "0",
            "DJANGO_SETTINGS_MODULE": "benchsite.settings",
            "PYTHONDONTWRITEBYTECODE": "1",
        })
        self.manage("migrate", "-v0")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        gunicorn = shutil.which("gunicorn") or "/usr/bin/gunicorn"
        self.log_path = os.path.join(self.dir, "gunicorn.log")
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [gunicorn, "--workers", str(CORES), "--bind", f"127.0.0.1:{self.port}",
             "--chdir", DJANGO_DIR, "--log-level", "warning", "--backlog", "2048",
             "benchsite.wsgi:application"],
            env=self.env, start_new_session=True, stdin=subprocess.DEVNULL,
            stdout=self.log_file, stderr=subprocess.STDOUT)
        try:
            wait_http(self.port, "/api/auth/user/", (401, 403), self.proc, f"gunicorn ({name})")
        except BenchError as exc:
            raise BenchError(f"{exc}\n{self.error_log()}") from None

    def __repr__(self):
        return f"<gunicorn {self.name} :{getattr(self, 'port', '?')}>"

    def manage(self, *args):
        r = subprocess.run([PYTHON, os.path.join(DJANGO_DIR, "manage.py"), *args], cwd=DJANGO_DIR,
                           env=self.env, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise BenchError(f"manage.py {' '.join(args)}: {r.stderr.strip()[-2000:]}")
        return r.stdout

    def tokens(self, username, count):
        return json.loads(self.manage("benchtokens", username, str(count)))

    def error_log(self):
        try:
            with open(self.log_path) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def processes(self):
        return {"gunicorn-master": [self.proc.pid], "gunicorn": proc_children(self.proc.pid)}

    def stop(self):
        stop_group(getattr(self, "proc", None))
        if getattr(self, "log_file", None):
            self.log_file.close()


# ---------------------------------------------------------------------------------------------
# Google: ID tokens from the fake, sessions from logins

class Google:
    """The fake Google and the ID tokens the benchmark needs from it."""

    def __init__(self):
        self.client = GoogleClient.start(max_age=86400)
        self.url = self.client.base_url
        self.port = int(self.url.rsplit(":", 1)[1])
        self.run_tag = secrets.randbelow(10 ** 6)
        self.counter = itertools.count(1)

    def settings(self):
        out = {}
        for line in self.client.config_lines().splitlines():
            key, _, value = line.partition(" = ")
            out[key.strip()] = value.strip()
        return out

    def mint(self, specs, workers=16):
        """One ID token per /_fake/mint spec."""
        def one(h, spec):
            status, body = h.json("POST", "/_fake/mint", spec)
            if status != 200:
                raise BenchError(f"fake Google mint: {status} {body}")
            return body["id_token"]
        return parallel(self.port, specs, one, workers)

    def returning_user_token(self, label):
        """An ID token for a fixed Google account (sub derived from label), valid 2 hours."""
        sub = f"3{self.run_tag:06d}{zlib.crc32(label.encode()):012d}"
        return self.mint([{"sub": sub, "email": f"{label}@bench.example",
                           "claims": {"given_name": label.capitalize(), "family_name": "Bench",
                                      **issued_now()}}])[0]

    def new_user_tokens(self, n):
        """n ID tokens for n Google accounts never seen before (distinct sub, e-mail, name)."""
        specs = []
        for _ in range(n):
            i = next(self.counter)
            # Spread like real accounts' (Google's subs are not handed out in order, people's
            # addresses and names are not alphabetical in sign-up order): counted values would
            # all go to the right edge of each unique index, one page that every sign-up
            # then locks until its commit is flushed. A bijection of i keeps them unique.
            r = (i * 0x9E3779B97F4A7C15 + self.run_tag) % (1 << 64)
            sub = f"2{r:020d}"
            specs.append({"sub": sub, "email": f"{r:016x}.new{i}@bench.example",
                          "claims": {"given_name": "".join(chr(97 + (r >> 5 * k) % 26) for k in range(4)) + letters(i),
                                     "family_name": "Bench", **issued_now()}})
        return self.mint(specs)

    def __repr__(self):
        return f"<fake Google :{self.port}>"

    def calls(self):
        return self.client.calls()

    def stop(self):
        self.client.stop()


def issued_now():
    """iat/exp of the ID tokens: valid 2 hours (long runs), issued 10 s ago, so that no clock
    granularity can make a token look issued in the future with leeway 0 (the benchmark
    measures logins, not that check)."""
    now = int(time.time())
    return {"iat": now - 10, "exp": now + 7200}


def letters(i):
    """A short lower-case name for a number (usernames come from names: keep them unique)."""
    s = ""
    while True:
        s = chr(ord("a") + i % 26) + s
        i //= 26
        if i == 0:
            return s


def login(server, id_token, count=1, workers=8):
    """Log in `count` times with one ID token; each login opens a session. Returns the 200
    answers (access, refresh, ...)."""
    def one(h, _):
        status, body = h.json("POST", "/api/social/login/google/", {"id_token": id_token})
        if status != 200:
            raise BenchError(f"google-login answered {status}: {body}")
        return body
    return parallel(server.port, range(count), one, workers)


# ---------------------------------------------------------------------------------------------
# wrk

def run_wrk(url, script, script_args, conns, seconds, threads, timeout):
    """One wrk run; returns the parsed BENCH_JSON summary plus wrk's own CPU seconds."""
    cmd = ["wrk", "-t", str(max(1, min(threads, conns))), "-c", str(conns), "-d", f"{seconds}s",
           "--timeout", f"{timeout}s", "--latency", "-s", os.path.join(LUA_DIR, script), url,
           "--", *[str(a) for a in script_args]]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=seconds + timeout + 30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise BenchError(f"wrk did not finish: {' '.join(cmd)}")
    except BaseException:  # Ctrl-C, SIGTERM: no load outlives the benchmark
        proc.kill()
        proc.wait()
        raise
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((l for l in out.splitlines() if l.startswith("BENCH_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({proc.returncode}): {err.strip() or out.strip()}")
    result = json.loads(line[len("BENCH_JSON "):])
    result["wrk_cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def wrk_errors(result):
    e = result.get("errors") or {}
    return {k: int(e.get(k, 0)) for k in ("connect", "read", "write", "status", "timeout")}


# ---------------------------------------------------------------------------------------------
# Cases

class Case:
    """One thing to measure.

    key       what it is, for the memory check and the comparisons ("token-refresh", ...)
    name      row label
    target    the server (SocialauthServer or DjangoServer)
    path      URL path
    procs     process names (as in target.processes()) doing the endpoint's work
    script    wrk script: static.lua, rotate.lua or cycle.lua
    what      one line: what a request of this case exercises
    prepare   called before each wrk run with (seconds, connections); returns the script's
              arguments (static: method, body file, headers; rotate: the token pool file;
              cycle: a file of fresh values)
    after     called with each wrk result (pool bookkeeping); may return a note for the table
    stats     () -> token bookkeeping for the results file, or None
    """

    def __init__(self, key, name, target, path, procs, script, what, prepare, after=None,
                 stats=None):
        self.stats = stats    # () -> dict of token bookkeeping for the record, or None
        self.key = key
        self.name = name
        self.target = target
        self.path = path
        self.procs = procs
        self.script = script
        self.what = what
        self.prepare = prepare
        self.after = after or (lambda result: None)


def once(make_prepare):
    """A prepare function built on first use by make_prepare() and reused: the tokens a static
    case sends are minted just before its first run (access tokens live 5 minutes)."""
    made = []

    def prepare(seconds, conns):
        if not made:
            made.append(make_prepare())
        return made[0](seconds, conns)
    prepare.renew = made.clear   # fresh tokens for a later run (the memory check)
    return prepare


def write_file(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def static_args(workdir, label, method, body=None, headers=()):
    """Arguments of static.lua: the body goes through a file (tokens are long)."""
    body_file = "-"
    if body is not None:
        body_file = write_file(os.path.join(workdir, f"{label}.body"), json.dumps(body))
    hdrs = list(headers)
    if body is not None:
        hdrs.append("Content-Type: application/json")
    return lambda seconds, conns: [method, body_file, *hdrs]


class RotationPool:
    """The refresh tokens rotate.lua cycles through: each line the current token of a distinct
    session. Sessions whose request was in flight when wrk stopped, or that got an error, drop
    out; the pool is topped up by `refill(n)` (more logins) before a run if it gets low."""

    def __init__(self, path, refill, size, threads):
        self.path = path
        self.refill = refill
        self.size = size
        self.threads = threads
        self.minted = 0
        write_file(path, "")

    def count(self):
        with open(self.path) as f:
            return sum(1 for line in f if line.strip())

    def top_up(self, conns):
        have = self.count()
        low = max(self.size // 2, 4 * conns + 100)
        if have >= low:
            return
        tokens = self.refill(self.size - have)
        self.minted += len(tokens)
        with open(self.path, "a") as f:
            f.write("".join(t + "\n" for t in tokens))

    def prepare(self, seconds, conns):
        self.top_up(conns)
        return [self.path, self.threads]

    def stats(self):
        return {"sessions_opened": self.minted, "sessions_left": self.count()}

    def after(self, result):
        c = result.get("counters") or {}
        if c.get("starved"):
            return f"{c['starved']} requests re-sent a used token (pool ran dry)"
        return None


class FreshTokens:
    """Values used once each (first logins): before a run, write enough for the run's expected
    requests (rate seen so far x duration x 1.5, plus a margin)."""

    def __init__(self, path, mint, threads, start_rate=1500):
        self.path = path
        self.mint = mint
        self.threads = threads
        self.rate = start_rate
        self.minted = 0

    def prepare(self, seconds, conns):
        n = int(self.rate * seconds * 1.5) + 300
        tokens = self.mint(n)
        self.minted += n
        write_file(self.path, "".join(t + "\n" for t in tokens))
        return [self.path, self.threads, "id_token"]

    def stats(self):
        return {"id_tokens_minted": self.minted}

    def after(self, result):
        rate = result["requests"] / max(result["duration_us"] / 1e6, 1e-3)
        self.rate = max(self.rate * 0.5, rate)
        wrapped = (result.get("counters") or {}).get("wrapped", 0)
        if wrapped:
            return f"{wrapped} requests re-used an ID token (re-logins, not first logins)"
        return None


# ---------------------------------------------------------------------------------------------
# Measuring

class Runner:
    def __init__(self, args, mode, workdir):
        self.google = None   # set once the fake Google runs: its calls are watched
        self.workdir = workdir
        self.args = args
        self.mode = mode
        self.conns = args.conns or mode["conns"]
        self.rounds = args.rounds or mode["rounds"]
        self.duration = args.duration or mode["duration"]
        self.warmup = args.warmup if args.warmup is not None else mode["warmup"]

    def wrk(self, case, conns, seconds):
        script_args = case.prepare(seconds, conns)
        result = run_wrk(case.target.url + case.path, case.script, script_args, conns, seconds,
                         self.args.threads, self.args.timeout)
        note = case.after(result)
        if note:
            result["note"] = note
        return result

    def snapshot(self, case):
        """CPU seconds of the case's server processes (by name), of this script and of the
        fake Google, the machine's jiffies and the fake Google's call counters, now."""
        procs = case.target.processes()
        me = resource.getrusage(resource.RUSAGE_SELF)
        helper = 0.0
        if self.google is not None and self.google.client.process is not None:
            helper = proc_cpu_seconds(self.google.client.process.pid)
        return {
            "time": time.time(),
            "cpu": {name: sum(proc_cpu_seconds(p) for p in pids) for name, pids in procs.items()},
            "self": me.ru_utime + me.ru_stime + helper,
            "machine": machine_cpu(),
            "google": self.google.calls() if self.google and case.target.name.startswith(
                "socialauth") else {},
            "log": log_stats(case.target) if case.key in WRITE_KEYS else {},
        }

    def measure(self, case):
        """Warm-up, then self.rounds rounds at each concurrency level. Returns the case's
        record: one row per level (medians) and the processes' memory afterwards."""
        log(f"bench: {case.name}: {case.what}")
        if self.warmup:
            self.wrk(case, max(self.conns), self.warmup)
        rows = []
        for conns in self.conns:
            before = self.snapshot(case)
            rounds = [self.wrk(case, conns, self.duration) for _ in range(self.rounds)]
            rows.append(self.summarise(case, conns, rounds, before, self.snapshot(case)))
            log("bench:   c=%-3d %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms%s" % (
                conns, rows[-1]["rps"], rows[-1]["p50_ms"], rows[-1]["p99_ms"],
                "  ERRORS " + json.dumps(rows[-1]["errors"]) if rows[-1]["bad"] else ""))
        record = {"name": case.name, "what": case.what, "path": case.path,
                  "server": case.target.name, "rows": rows, "memory": self.memory(case)}
        if case.stats:
            record["tokens"] = case.stats()
        if self.args.profile:
            record["profile"] = self.profile(case)
        return record

    def profile(self, case):
        """One more round at the highest concurrency with `perf record` (cpu-clock sampling:
        this VM has no hardware counters) on the endpoint's processes and lighttpd; returns
        where their CPU time went, by shared object and by symbol (self time, no call graph)."""
        conns, seconds = max(self.conns), max(self.duration, 2)
        procs = case.target.processes()
        pids = [str(p) for n in case.procs + ["lighttpd"] for p in procs.get(n, [])]
        data = os.path.join(self.workdir, "perf-%s.data" % re.sub(r"\W+", "-", case.name))
        perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "1999",
                                 "-p", ",".join(pids), "-o", data, "--", "sleep", str(seconds)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            result = self.wrk(case, conns, seconds)
            _, err = perf.communicate(timeout=seconds + 60)
        except BaseException:
            perf.kill()
            perf.wait()
            raise
        out = {"conns": conns, "rps": result["requests"] / (result["duration_us"] / 1e6)}
        for label, sort, limit in (("by_object", "comm,dso", 1.0),
                                   ("by_symbol", "comm,dso,sym", 0.3)):
            rep = subprocess.run(["perf", "report", "-i", data, "--stdio", "--sort", sort,
                                  "--percent-limit", str(limit)],
                                 capture_output=True, text=True, timeout=120)
            lines = [" ".join(l.split()) for l in rep.stdout.splitlines()
                     if l.strip() and not l.startswith("#")]
            if rep.returncode != 0:
                lines = ["perf report failed: " + (rep.stderr or err).strip()[-300:]]
            if label == "by_symbol":
                out["kernel_symbols"] = [l for l in lines if "[kernel" in l][:10]
                lines = [l for l in lines if "[kernel" not in l]
            out[label] = lines[:25]
        return out

    def summarise(self, case, conns, rounds, before, after):
        rps = [r["requests"] / (r["duration_us"] / 1e6) for r in rounds]
        p50 = [r["latency_us"]["percentiles"]["50"] / 1000 for r in rounds]
        p99 = [r["latency_us"]["percentiles"]["99"] / 1000 for r in rounds]
        requests = sum(r["requests"] for r in rounds) or 1
        errors = {}
        for r in rounds:
            for k, v in wrk_errors(r).items():
                errors[k] = errors.get(k, 0) + v
        cpu = {n: after["cpu"].get(n, 0) - before["cpu"].get(n, 0) for n in after["cpu"]}
        endpoint_cpu = sum(cpu.get(n, 0) for n in case.procs)
        wrk_cpu = sum(r["wrk_cpu_s"] for r in rounds)
        busy = after["machine"][0] - before["machine"][0]
        iowait = after["machine"][1] - before["machine"][1]
        total = (after["machine"][2] - before["machine"][2]) or 1
        # CPU the machine spent outside this benchmark's processes (other jobs on the box
        # disturb the numbers; interrupts and softirqs land here too, so a few % is normal).
        ours = sum(cpu.values()) + wrk_cpu + after["self"] - before["self"]
        wall = max(after["time"] - before["time"], 1e-3)
        other = max(0.0, busy / CLK_TCK - ours) / (wall * CORES)
        calls = {k: v - before["google"].get(k, 0) for k, v in after["google"].items()
                 if v - before["google"].get(k, 0)}
        notes = {r["note"] for r in rounds if r.get("note")}
        if calls:
            notes.add(f"fake Google called during the rounds: {calls}")
        return {
            "conns": conns,
            "rps": statistics.median(rps),
            "p50_ms": statistics.median(p50),
            "p99_ms": statistics.median(p99),
            "p999_ms": statistics.median(r["latency_us"]["percentiles"]["99.9"] / 1000
                                         for r in rounds),
            "max_ms": max(r["latency_us"]["max"] / 1000 for r in rounds),
            "rounds": [{"rps": round(x, 1), "p50_ms": round(a, 3), "p99_ms": round(b, 3),
                        "requests": r["requests"], "errors": wrk_errors(r),
                        **({"counters": r["counters"]} if r.get("counters") else {}),
                        **({"note": r["note"]} if r.get("note") else {})}
                       for x, a, b, r in zip(rps, p50, p99, rounds)],
            "requests": requests,
            "errors": errors,
            "bad": sum(errors.values()),
            "notes": sorted(notes),
            "cpu_us_per_request": {
                "endpoint": 1e6 * endpoint_cpu / requests,
                "lighttpd": 1e6 * cpu.get("lighttpd", 0) / requests,
                "wrk": 1e6 * wrk_cpu / requests,
            },
            "machine_busy_pct": 100.0 * busy / total,
            "machine_iowait_pct": 100.0 * iowait / total,
            "other_cpu_pct": 100.0 * other,
            "google_calls": calls,
            "log": log_delta(before["log"], after["log"], requests),
        }

    def memory(self, case):
        procs = case.target.processes()
        return {name: [proc_memory(p) for p in procs.get(name, [])] for name in case.procs}

    def leak(self, case, requests):
        """Send `requests` or more at one endpoint; its processes' memory before and after."""
        conns = 32
        log(f"bench: leak check {case.name}: {requests} requests")
        if hasattr(case.prepare, "renew"):
            case.prepare.renew()                  # the case's access token may have expired
        warm = self.wrk(case, conns, 2)           # warm: caches filled, pools grown
        rate = warm["requests"] / max(warm["duration_us"] / 1e6, 1e-3)
        before = self.memory(case)
        sent, runs, errors = 0, 0, 0
        while sent < requests:
            # Runs sized by the rate seen (10 s at most), so a fast endpoint is not sent
            # several times the requests asked for.
            seconds = max(1, min(10, int((requests - sent) / max(rate, 1.0) + 1)))
            result = self.wrk(case, conns, seconds)
            rate = result["requests"] / max(result["duration_us"] / 1e6, 1e-3)
            sent += result["requests"]
            errors += sum(wrk_errors(result).values())
            runs += 1
        after = self.memory(case)

        def total(mem, key):
            return sum(m.get(key, 0) for ms in mem.values() for m in ms)

        growth = {k: total(after, k) - total(before, k) for k in ("VmRSS", "RssAnon")}
        return {"name": case.name, "requests": sent, "errors": errors, "before": before,
                "after": after, "growth_kb": growth,
                "anon_growth_kb_per_10k": 1e4 * growth["RssAnon"] / max(sent, 1)}


# ---------------------------------------------------------------------------------------------
# Building the cases

def build_floor(workdir):
    out = os.path.join(workdir, "hello")
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, "-O2", "-Wall", "-o", out, os.path.join(BENCH_DIR, "hello.c"), "-lfcgi"],
                   check=True, timeout=120)
    return out


def built(name):
    return os.access(os.path.join(CGI_DIR, name), os.X_OK)


def build_kind():
    """"release" or "debug": the build stamp make leaves in lib/ (lib/.build-<mode>)."""
    for mode in ("release", "debug"):
        if os.path.exists(os.path.join(ROOT, "lib", ".build-" + mode)):
            return mode
    return "unknown"


class Plan:
    """Starts the servers and makes the cases, in the order they run."""

    def __init__(self, args, mode, workdir, servers):
        self.args = args
        self.mode = mode
        self.workdir = workdir
        self.servers = servers
        self.skipped = []
        self.google = None
        self.have_login = built("google-login")
        if not self.have_login:
            self.skipped.append("google-login cases: cgi-bin/google-login is not built; "
                                "tokens come from `socialauth token mint`")

    def start_google(self):
        self.google = self.servers.add(Google())
        return self.google.settings()

    def socialauth(self, name, gsettings, sync, floor=None):
        return self.servers.add(SocialauthServer(
            self.workdir, name, gsettings, {"sync_rotation": "true" if sync else "false"},
            floor=floor))

    def access_token(self, server, label):
        """A fresh access token of a user of `server`: from a Google login when google-login
        exists (a user with a session, as in production), else `socialauth token mint`."""
        if self.have_login:
            return login(server, self.google.returning_user_token(label))[0]["access"]
        try:
            server.cli("user", "create", "--username", label, "--email", f"{label}@bench.example")
        except BenchError:
            pass  # created for an earlier case
        return json.loads(server.cli("token", "mint", label))["access"]

    def bearer_get(self, key, name, server, path, what):
        return Case(key, name, server, path, [key], "static.lua", what, once(
            lambda: static_args(self.workdir, key, "GET", None, [
                "Authorization: Bearer " + self.access_token(server, key)])))

    def true_floor(self, floor):
        """The reference row: hello.c behind a minimal lighttpd (FloorServer)."""
        server = self.servers.add(FloorServer(self.workdir, floor))
        # lighttpd + mod_fastcgi + libfcgi and nothing else. Every ratio is to this program's
        # requests/s (and p99) at the same concurrency in the same run.
        return server, Case("floor", "floor (minimal lighttpd)", server, "/bench/hello/",
                            ["hello"], "static.lua",
                            "hello-world FastCGI program, one fastcgi.server prefix",
                            static_args(self.workdir, "floor", "GET"))

    def post_floor(self, server):
        """The same program and server, sent what token-verify is sent: a POST whose JSON body
        holds a token-sized string. lighttpd reads a request body and forwards it as FastCGI
        stdin records, which costs it and the program more than a GET: the floor of the
        endpoints that take a body."""
        return Case("floor-post", "floor (POST, minimal)", server, "/bench/hello/", ["hello"],
                    "static.lua", "hello-world FastCGI program, POST of a token-sized body",
                    static_args(self.workdir, "floor-post", "POST", {"token": "t" * POST_TOKEN_CHARS}))

    def main_cases(self, server, floor):
        """The cases served by the main server: `make run`'s stack (the release build, the
        configuration bin/socialauth-lighttpd-conf generates, sync_rotation = true)."""
        cases = [
            # Today's floor: the same hello.c behind the generated configuration, added as a
            # regular-expression condition as the endpoints once were: what the configuration
            # itself costs shows as the gap to the true floor.
            Case("floor-generated", "floor (generated config)", server, "/bench/hello/",
                 ["hello"], "static.lua",
                 "hello-world FastCGI program behind the generated configuration",
                 static_args(self.workdir, "floor-generated", "GET")),
        ]
        if built("token-verify"):
            # token-verify: parse and HMAC-check a token, the session lookup; no writes.
            cases.append(Case(
                "token-verify", "token-verify", server, "/api/auth/token/verify/",
                ["token-verify"], "static.lua", "POST {token}: JWT check and session lookup",
                once(lambda: static_args(self.workdir, "verify", "POST",
                                         {"token": self.access_token(server, "verify")}))))
        if built("user-me"):
            # user-me GET: Bearer authentication (JWT, session) + the user record + JSON out.
            cases.append(self.bearer_get("user-me", "user-me GET", server, "/api/auth/user/",
                                         "GET with Bearer: JWT, session and user lookups"))
        if built("posts"):
            # posts: what an application endpoint protected by the library pays for it.
            cases.append(self.bearer_get("posts", "posts", server, "/api/posts/",
                                         "GET with Bearer via sa_auth_require, fixed answer"))
        if built("token-refresh"):
            # token-refresh with rotation, each request presenting its session's current token:
            # JWT check, user lookup, the rotation transaction (flushed to disk before the
            # answer: sync_rotation = true), two tokens signed.
            cases.append(self.rotation_case("token-refresh (sync)", server, "sync"))
        if self.have_login:
            # google-login of a returning user, Google's keys cached in the store: RS256 check
            # of the ID token, user by sub, last_login and a new session written in one
            # transaction, two tokens signed. Google is not called (the run checks).
            cases.append(self.returning_login_case("google-login (existing)", server,
                                                   "returning"))
            cases.append(self.returning_login_case("google-login (one account)", server,
                                                   "oneaccount", accounts=1))
            # First login: every request a Google account never seen before. RS256 check, the
            # new account's uniqueness checks (sub, e-mail, username), the user created with its
            # indexes and committed durably, a new session.
            fresh = FreshTokens(os.path.join(self.workdir, "first-login.tokens"),
                                self.google.new_user_tokens, self.args.threads)
            cases.append(Case(
                "first-login", "google-login (new user)", server, "/api/social/login/google/",
                ["google-login"], "cycle.lua",
                "POST {id_token} of a new account: RS256 + user creation (durable)",
                fresh.prepare, fresh.after, fresh.stats))
        return cases

    def returning_login_case(self, name, server, label, accounts=RETURNING_ACCOUNTS):
        """google-login of returning users, Google's keys cached in the store: each request
        the next of `accounts` accounts that signed in once before (cycle.lua, wrapping round
        them), as real returning sign-ins are of different people. With accounts=1, one
        account signs in over and over: each sign-in writes that account's last_login, so
        the commits queue on its record and each log flush carries one."""
        if accounts == 1:
            return Case("google-login", name, server, "/api/social/login/google/",
                        ["google-login"], "static.lua",
                        "POST {id_token} of one known account, keys cached: RS256 + 1 write txn",
                        once(lambda: self.login_args(server, label)))

        def prepare():
            tokens = [self.google.returning_user_token(f"{label}{i}") for i in range(accounts)]
            pmap(lambda t: login(server, t), tokens, CORES)   # each account exists
            path = write_file(os.path.join(self.workdir, f"login-{label}.tokens"),
                              "".join(t + "\n" for t in tokens))
            return lambda seconds, conns: [path, self.args.threads, "id_token"]

        return Case("google-login", name, server, "/api/social/login/google/",
                    ["google-login"], "cycle.lua",
                    f"POST {{id_token}} of {accounts} known accounts in turn, keys cached: "
                    "RS256 + 1 write txn", once(prepare))

    def login_args(self, server, label):
        """google-login's static arguments. Logs in once first, so that the user exists and
        Google's keys are in the store's cache before the measured requests."""
        token = self.google.returning_user_token(label)
        login(server, token)
        return static_args(self.workdir, "login-" + label, "POST", {"id_token": token})

    def rotation_case(self, name, server, label):
        """token-refresh through rotate.lua, on a pool of sessions of one user."""
        user = "rotate" + label

        def refill(n):
            if self.have_login:
                token = self.google.returning_user_token(user)
                return [a["refresh"] for a in login(server, token, n)]
            try:
                server.cli("user", "create", "--username", user, "--email",
                           f"{user}@bench.example")
            except BenchError:
                pass  # exists already
            return pmap(lambda _: json.loads(server.cli("token", "mint", user))["refresh"],
                        range(min(n, 400)), CORES)

        pool = RotationPool(os.path.join(self.workdir, f"rotate-{label}.tokens"), refill,
                            self.mode["pool"], self.args.threads)
        what = "POST {refresh}, the session's current token: rotation, " + (
            "commit flushed" if label == "sync" else "commit not flushed")
        return Case("token-refresh", name, server, "/api/auth/token/refresh/", ["token-refresh"],
                    "rotate.lua", what, pool.prepare, pool.after, pool.stats)

    def django(self, blacklist):
        label = "django-blacklist" if blacklist else "django"
        return self.servers.add(DjangoServer(self.workdir, label, blacklist=blacklist))

    def django_cases(self, server, blacklist):
        pool = RotationPool(os.path.join(self.workdir, f"rotate-{server.name}.tokens"),
                            lambda n: server.tokens("rotate", n)["refresh"],
                            self.mode["pool"], self.args.threads)
        if blacklist:
            # simplejwt with its token_blacklist app: each rotation reads the blacklist and
            # writes the old token as outstanding + blacklisted (SQLite, committed).
            return [Case("token-refresh", "django refresh +blacklist", server,
                         "/api/auth/token/refresh/", ["gunicorn"], "rotate.lua",
                         "TokenRefreshView, rotation + token_blacklist (SQLite writes)",
                         pool.prepare, pool.after, pool.stats)]
        return [
            # The tutorial's refresh: rotation without the blacklist app is HMAC work only.
            Case("token-refresh-tutorial", "django refresh", server, "/api/auth/token/refresh/",
                 ["gunicorn"], "rotate.lua",
                 "TokenRefreshView, rotation as the tutorial (no database access)",
                 pool.prepare, pool.after, pool.stats),
            # dj-rest-auth's user details: JWTAuthentication (one user query) + serializer.
            Case("user-me", "django user-me GET", server, "/api/auth/user/", ["gunicorn"],
                 "static.lua", "RetrieveUpdateAPIView + JWTAuthentication (1 SQLite query)",
                 once(lambda: static_args(self.workdir, "django-me", "GET", None, [
                     "Authorization: Bearer " + server.tokens("me", 1)["access"]]))),
        ]


# ---------------------------------------------------------------------------------------------
# Report

def fmt_kb(kb):
    return f"{kb / 1024:.1f}"


def print_table(report, out=sys.stdout):
    w = out.write
    floors = {r["conns"]: r for c in report["cases"] if c["key"] == "floor" for r in c["rows"]}
    w("\nsocialauth benchmark, mode %s, %s build, %d cores, %s\n" % (
        report["mode"], report["build"], report["cores"], report["started"]))
    w("wrk: %d thread(s), %d s rounds x %d per level, median shown. cpu us/req: CPU time per "
      "request of the\nendpoint's processes / lighttpd / wrk; busy%%: the machine's CPU use; "
      "other%%: CPU used by processes\noutside the benchmark (other jobs disturb the numbers)\n\n"
      % (report["threads"], report["duration"], report["rounds"]))
    head = "%-25s %5s %8s %8s %8s %7s %7s %6s %20s %5s %6s\n"
    w(head % ("case", "conns", "req/s", "p50 ms", "p99 ms", "x floor", "p99 xf", "errors",
              "cpu us/req ep/lt/wrk", "busy%", "other%"))
    w("-" * 118 + "\n")
    for case in report["cases"]:
        for row in case["rows"]:
            floor = floors.get(row["conns"])
            ratio = f"{row['rps'] / floor['rps']:.3f}" if floor else "-"
            p99x = f"{row['p99_ms'] / floor['p99_ms']:.2f}" if floor and floor["p99_ms"] else "-"
            cpu = row["cpu_us_per_request"]
            w(head % (case["name"][:25], row["conns"], f"{row['rps']:.0f}", f"{row['p50_ms']:.2f}",
                      f"{row['p99_ms']:.2f}", ratio, p99x, row["bad"],
                      f"{cpu['endpoint']:.0f} / {cpu['lighttpd']:.0f} / {cpu['wrk']:.0f}",
                      f"{row['machine_busy_pct']:.0f}", f"{row['other_cpu_pct']:.0f}"))
            for note in row["notes"]:
                w(f"{'':27}   ! {note}\n")
    w("\nmemory after each case (MiB per process: private = Private_Clean + Private_Dirty of "
      "smaps_rollup; VmRSS, which also counts shared libraries and the store's regions)\n")
    for case in report["cases"]:
        parts = []
        for name, mems in case["memory"].items():
            for m in mems:
                parts.append(f"{fmt_kb(m.get('Private', 0))} ({fmt_kb(m.get('VmRSS', 0))})")
        w("  %-27s %s\n" % (case["name"][:27], ", ".join(parts) or "-"))
    logged = [(c["name"], r["conns"], r["log"]) for c in report["cases"] for r in c["rows"]
              if r.get("log")]
    if logged:
        w("\ngroup commit (the store's log, db5.3_stat -l): requests per fdatasync, log bytes "
          "per request\n")
        for name, conns, lg in logged:
            w("  %-27s c=%-3d %6s req/flush  %5d B/req  (most commits in one flush so far: %s)\n"
              % (name[:27], conns, lg["requests_per_flush"], lg["log_bytes_per_request"],
                 lg["max_commits_per_flush"]))
    if report.get("spawn"):
        w("\nspawn to first answer (a fresh endpoint process on the running store; median ms)\n")
        w("  " + "  ".join(f"{s['name']} {s['ms']:.1f}" for s in report["spawn"]) + "\n")
    post_floors = {r["conns"]: r for c in report["cases"] if c["key"] == "floor-post"
                   for r in c["rows"]}
    posted = [c for c in report["cases"] if c["key"] in POSTED_READS]
    if post_floors and posted:
        w("\nendpoints that take a body, against the POST floor (requests/s ratio; p99 ratio)\n")
        for case in posted:
            w("  %-27s %s\n" % (case["name"][:27], "  ".join(
                f"c={r['conns']}: {r['rps'] / post_floors[r['conns']]['rps']:.3f} "
                f"({r['p99_ms'] / post_floors[r['conns']]['p99_ms']:.2f})"
                for r in case["rows"] if r["conns"] in post_floors)))
    if report["comparisons"]:
        w("\nsocialauth / Django (requests/s ratio at the same concurrency; >1: socialauth faster)\n")
        for comp in report["comparisons"]:
            w("  %-52s %s\n" % (comp["ours"] + " / " + comp["theirs"],
                                "  ".join(f"c={c}: {v:.1f}x" for c, v in comp["ratio"].items())))
    if report["leaks"]:
        w("\nprivate memory per process (KiB) after a warm-up -> after N more requests through "
          "the endpoint\n")
        for leak in report["leaks"]:
            pairs = [f"{b.get('Private', 0)} -> {a.get('Private', 0)}"
                     for name in leak["after"]
                     for b, a in zip(leak["before"].get(name, []), leak["after"][name])]
            w("  %-27s %8d requests  %s%s\n" % (
                leak["name"][:27], leak["requests"], ", ".join(pairs),
                f"  errors {leak['errors']}" if leak["errors"] else ""))
    profiled = [c for c in report["cases"] if c.get("profile")]
    if profiled:
        w("\nwhere the CPU time goes (perf, cpu-clock samples of the endpoint's processes and "
          "lighttpd, one round at c=%d)\n" % profiled[0]["profile"]["conns"])
        for case in profiled:
            w(f"  {case['name']}  ({case['profile']['rps']:.0f} req/s while sampled)\n")
            for line in case["profile"]["by_object"][:8]:
                w(f"      {line}\n")
            w("    top kernel symbols:\n")
            for line in case["profile"].get("kernel_symbols", [])[:4]:
                w(f"      {line}\n")
            w("    top user-space symbols:\n")
            for line in case["profile"]["by_symbol"][:10]:
                w(f"      {line}\n")
    for s in report["skipped"]:
        w(f"\nskipped: {s}")
    w("\n")


# Like for like: every read of ours against Django's read (user-me: JWTAuthentication, one
# query); a rotation against Django's with the token_blacklist app (without it Django stores
# nothing, so its refresh is not a counterpart of a rotation that records the session).
COUNTERPARTS = {"user-me": ("user-me", "token-verify", "posts"),
                "token-refresh": ("token-refresh",)}


def comparisons(cases):
    """socialauth's requests/s over Django's, for each like-for-like pair (COUNTERPARTS)."""
    out = []
    for theirs in (c for c in cases if c["server"].startswith("django")):
        t_rps = {r["conns"]: r["rps"] for r in theirs["rows"]}
        for ours in (c for c in cases if c["key"] in COUNTERPARTS.get(theirs["key"], ())
                     and not c["server"].startswith("django")):
            ratio = {r["conns"]: r["rps"] / t_rps[r["conns"]] for r in ours["rows"]
                     if t_rps.get(r["conns"])}
            out.append({"ours": ours["name"], "theirs": theirs["name"], "ratio": ratio})
    return out


# ---------------------------------------------------------------------------------------------
# Main

def check_tools(need_django):
    missing = [t for t in ("wrk", "lighttpd", os.environ.get("CC", "cc"))
               if shutil.which(t) is None]
    if need_django and shutil.which("gunicorn") is None and not os.path.exists("/usr/bin/gunicorn"):
        missing.append("gunicorn")
    for exe in ("bin/socialauth", "cgi-bin/health"):
        if not os.access(os.path.join(ROOT, exe), os.X_OK):
            missing.append(exe + " (run make)")
    if missing:
        raise BenchError("missing: " + ", ".join(missing) + " (bin/socialauth-deps bench; make)")


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Benchmark socialauth's endpoints with wrk behind lighttpd, against a "
                    "hello-world FastCGI floor and the tutorial's Django stack.",
        epilog="Results: a table on stdout and tests/bench/results/latest.json. "
               "`make bench` builds a release first; run directly, the binaries are used as built.")
    p.add_argument("--mode", choices=sorted(MODES), default="short",
                   help="short: a few seconds per case (CI smoke run); long: more rounds and "
                        "levels, plus the memory-growth check (default: short)")
    p.add_argument("--conns", type=lambda s: [int(x) for x in s.split(",")],
                   help="concurrency levels, comma separated (default per mode: 8,32,64)")
    p.add_argument("--rounds", type=int, help="measured rounds per level (median reported)")
    p.add_argument("--duration", type=int, help="seconds per round")
    p.add_argument("--warmup", type=int, help="seconds of warm-up per case")
    p.add_argument("--threads", type=int, default=1,
                   help="wrk threads (default 1: on a small machine wrk competes with the server)")
    p.add_argument("--timeout", type=int, default=10, help="wrk request timeout, seconds")
    p.add_argument("--only", help="comma-separated substrings: run only cases whose name has one")
    p.add_argument("--no-django", action="store_true", help="skip the Django stack")
    p.add_argument("--deploy", action="store_true",
                   help="only the deployment rows (tests/bench/deploy.py): lighttpd, Apache "
                        "mod_fcgid and Apache plain CGI, user-me and floors at c=8 and c=32")
    p.add_argument("--no-deploy", action="store_true", help="skip the deployment rows")
    p.add_argument("--leak-requests", type=int,
                   help="requests per endpoint for the memory-growth check (long mode: 100000; "
                        "0 disables)")
    p.add_argument("--leak-cases", default=",".join(LEAK_CASES),
                   help="endpoints for the memory-growth check (default: %(default)s)")
    p.add_argument("--output", default=os.path.join(RESULTS_DIR, "latest.json"),
                   help="JSON results file (default: tests/bench/results/latest.json)")
    p.add_argument("--keep", action="store_true",
                   help="keep the work directory (stores, logs, configurations)")
    p.add_argument("--hold", action="store_true",
                   help="after the run, keep the servers up until Ctrl-C (for perf/valgrind)")
    p.add_argument("--strict", action="store_true", help="exit 1 when any case answered errors")
    p.add_argument("--users", type=int, default=0,
                   help="before measuring, import this many users (half with a Google link) "
                        "into the main server's store with `socialauth import-django`, timed; "
                        "the report gains the import rate and the store's size per user and "
                        "per session (e.g. 1000 vs 1000000 to see how cost grows)")
    p.add_argument("--sync-procs", type=int, default=0,
                   help="processes of each endpoint marked sync in etc/endpoints (default: "
                        "what bin/socialauth-lighttpd-conf gives them, as many as the others)")
    p.add_argument("--profile", action="store_true",
                   help="after each case, one more round under `perf record` on its processes; "
                        "prints where their CPU time goes (needs linux-perf)")
    return p.parse_args(argv)


def on_signal(signum, frame):
    raise KeyboardInterrupt


def hold(servers, workdir):
    log("bench: servers still up, work directory %s; Ctrl-C to stop them" % workdir)
    for server in servers.items:
        log(f"  {server!r} {server.url}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def run_all(args, mode, runner, plan, servers, workdir):
    """Measure every wanted case; returns (case records, memory-check records)."""
    only = [s.strip() for s in args.only.split(",")] if args.only else None
    records, leaks = [], []

    def wanted(name):
        return name.startswith("floor") or not only or any(s in name for s in only)

    def measure(cases):
        for case in cases:
            if wanted(case.name):
                records.append(dict(runner.measure(case), key=case.key))

    floor = build_floor(workdir)
    floor_server, floor_case = plan.true_floor(floor)
    measure([floor_case, plan.post_floor(floor_server)])
    if not args.hold:
        servers.stop(floor_server)
    gsettings = plan.start_google()
    runner.google = plan.google
    main = plan.socialauth("socialauth-sync", gsettings, sync=True, floor=floor)
    population = populate(main, args.users, workdir) if args.users else None
    cases = plan.main_cases(main, floor)
    measure(cases)
    spawns = spawn_times(plan, main, mode["spawns"])
    if population is not None:
        population["after"] = json.loads(main.cli("stats", "--json"))
    if mode["leak_requests"]:
        by_key = {c.key: c for c in cases}
        for key in args.leak_cases.split(","):
            case = by_key.get(key.strip())
            if case is not None and wanted(case.name):
                leaks.append(runner.leak(case, mode["leak_requests"]))
    if built("token-refresh") and (wanted("token-refresh (no sync)") or
                                   wanted("google-login (existing, no sync)")):
        # The same rotation on a server with sync_rotation = false: the commit is not flushed
        # before the answer (a crash may lose the last rotations).
        nosync = plan.socialauth("socialauth-nosync", gsettings, sync=False)
        nosync_cases = [plan.rotation_case("token-refresh (no sync)", nosync, "nosync")]
        if plan.have_login:
            # The target case: a returning user's sign-in whose session commit is
            # written but not flushed (sync_rotation = false).
            nosync_cases.append(plan.returning_login_case("google-login (existing, no sync)",
                                                          nosync, "returning-nosync"))
        measure(nosync_cases)
        if not args.hold:
            servers.stop(nosync)
    if not args.no_django:
        for blacklist in (False, True):
            names = ["django refresh +blacklist"] if blacklist else ["django refresh",
                                                                     "django user-me GET"]
            if not any(wanted(n) for n in names):
                continue
            server = plan.django(blacklist)
            measure(plan.django_cases(server, blacklist))
            if not args.hold:
                servers.stop(server)
    if plan.google is not None:
        calls = plan.google.calls()
        log(f"bench: calls to the fake Google during the whole run: {calls}")
    return records, leaks, population, spawns


def spawn_times(plan, server, count):
    """Milliseconds from starting a fresh endpoint process (a listening unix socket as its
    standard input, as lighttpd and spawn-fcgi start it) to its first answer, each endpoint
    `count` times on the main server's store while that server runs: what mod_fcgid and CGI
    users pay on every spawn. Returns [{"name", "ms" (median), "all"}]."""
    access = plan.access_token(server, "spawn")
    requests = [("health", "GET", "/api/health/", None, {}),
                ("token-verify", "POST", "/api/auth/token/verify/", {"token": access}, {}),
                ("user-me", "GET", "/api/auth/user/", None, {"Authorization": "Bearer " + access}),
                ("posts", "GET", "/api/posts/", None, {"Authorization": "Bearer " + access})]
    if plan.have_login:
        id_token = plan.google.returning_user_token("spawn")
        refresh = [a["refresh"] for a in login(server, id_token, count)]
        requests.append(("token-refresh", "POST", "/api/auth/token/refresh/",
                         lambda i: {"refresh": refresh[i]}, {}))
        requests.append(("google-login", "POST", "/api/social/login/google/",
                         {"id_token": id_token}, {}))
    out = []
    for name, method, path, body, headers in requests:
        if not built(name):
            continue
        times = []
        for i in range(count):
            b = body(i) if callable(body) else body
            data = json.dumps(b).encode() if b is not None else b""
            hdrs = dict(headers, **({"Content-Type": "application/json"} if data else {}))
            payload = encode_request(method, path, data, hdrs)
            ep = Endpoint([os.path.join(CGI_DIR, name)], {"SOCIALAUTH_CONF": server.conf},
                          os.path.join(server.run_dir, f"spawn-{name}.sock"),
                          stderr=subprocess.DEVNULL)
            try:
                status = parse_answer(ep.raw(payload))[0]
                times.append((time.perf_counter() - ep.started) * 1000)
            finally:
                ep.stop()
            if status != 200:
                raise BenchError(f"spawn of {name}: first answer {status}")
        out.append({"name": name, "ms": round(statistics.median(times), 2),
                    "all": [round(t, 2) for t in times]})
        log(f"bench: spawn to first answer, {name}: {out[-1]['ms']} ms (median of {count})")
    return out


def write_dumpdata(path, n):
    """n users as Django's `dumpdata auth.user socialaccount.socialaccount` writes them (one
    record per line), every second one with a Google account; returns the file's size."""
    salt = "a" * 22
    with open(path, "w") as f:
        f.write("[\n")
        for i in range(1, n + 1):
            f.write(json.dumps({"model": "auth.user", "pk": i, "fields": {
                "password": f"pbkdf2_sha256$600000${salt}${i:044d}",
                "last_login": None, "is_superuser": False, "username": f"user{i}",
                "first_name": "Scale", "last_name": f"User {i}",
                "email": f"user{i}@scale.example", "is_staff": False, "is_active": True,
                "date_joined": "2024-01-01T00:00:00.000Z", "groups": [],
                "user_permissions": []}}) + ",\n")
        for i in range(2, n + 1, 2):
            f.write(json.dumps({"model": "socialaccount.socialaccount", "pk": i // 2, "fields": {
                "user": i, "provider": "google", "uid": f"scale-sub-{i}",
                "last_login": "2024-01-02T00:00:00.000Z",
                "date_joined": "2024-01-01T00:00:00.000Z",
                "extra_data": json.dumps({"sub": f"scale-sub-{i}"})}}))
            f.write(",\n" if i + 2 <= n else "\n")
        f.write("]\n")
    return os.path.getsize(path)


def populate(server, n, workdir):
    """Import n users into server's store (while it serves); returns the measurement."""
    path = os.path.join(workdir, f"dumpdata-{n}.json")
    size = write_dumpdata(path, n)
    log(f"bench: importing {n} users ({size} bytes of dumpdata)")
    t0 = time.monotonic()
    r = subprocess.run([os.path.join(ROOT, "bin", "socialauth"), "--config", server.conf,
                        "import-django", path], capture_output=True, text=True)
    seconds = time.monotonic() - t0
    if r.returncode != 0:
        raise BenchError(f"import-django: {r.stderr.strip()}")
    os.unlink(path)
    stats = json.loads(server.cli("stats", "--json"))
    log(f"bench: imported {n} users in {seconds:.1f} s ({n / seconds:.0f} users/s); "
        f"{stats['bytes_per_user']} bytes per user")
    return {"users": n, "import_seconds": round(seconds, 1),
            "users_per_second": round(n / seconds), "dumpdata_bytes": size,
            "before": stats, "import_report": r.stderr.strip().splitlines()[-1]}


def main(argv=None):
    global SYNC_PROCS
    args = parse_args(argv)
    SYNC_PROCS = args.sync_procs
    mode = dict(MODES[args.mode])
    if args.leak_requests is not None:
        mode["leak_requests"] = args.leak_requests
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        check_tools(not args.no_django)
    except BenchError as exc:
        log(f"bench: {exc}")
        return 2

    workdir = tempfile.mkdtemp(prefix="socialauth-bench-")
    servers = Servers()
    runner = Runner(args, mode, workdir)
    plan = Plan(args, mode, workdir, servers)
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    t0 = time.time()
    deploy_rows = []
    deploy_failed = False
    try:
        records, leaks, population, spawns = (([], [], None, []) if args.deploy else
                                              run_all(args, mode, runner, plan, servers,
                                                      workdir))
        if not args.no_deploy:
            import deploy  # tests/bench/deploy.py
            try:
                deploy_rows = deploy.run(sys.modules[__name__], args, workdir, log)
            except (BenchError, subprocess.CalledProcessError, OSError) as exc:
                # The main table is still printed and written; the exit status says it.
                log(f"bench: deployment rows: {exc}")
                plan.skipped.append(f"deployment rows: {exc}")
                deploy_failed = True
        if args.hold:
            hold(servers, workdir)
    except KeyboardInterrupt:
        log("bench: interrupted; servers stopped, nothing written")
        return 130
    except (BenchError, subprocess.CalledProcessError, OSError) as exc:
        log(f"bench: {exc}")
        return 2
    finally:
        servers.stop_all()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    report = {
        "mode": args.mode, "started": started, "seconds": round(time.time() - t0, 1),
        "build": build_kind(), "cores": CORES, "threads": args.threads,
        "conns": runner.conns, "rounds": runner.rounds, "duration": runner.duration,
        "warmup": runner.warmup, "host": host_info(),
        "cases": records, "comparisons": comparisons(records), "leaks": leaks,
        "skipped": plan.skipped, "population": population, "deploy": deploy_rows,
        "spawn": spawns,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    if records:
        print_table(report)
    if deploy_rows:
        deploy.print_rows(deploy_rows)
    log(f"bench: {report['seconds']} s in all; results in {os.path.relpath(args.output)}")
    if deploy_failed:
        return 2
    if args.strict and any(r["bad"] for c in records for r in c["rows"]):
        return 1
    return 0


def host_info():
    info = {"kernel": os.uname().release}
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
            info["cpu"] = m.group(1) if m else "?"
    except OSError:
        pass
    for tool, cmd in (("wrk", ["wrk", "-v"]), ("lighttpd", ["lighttpd", "-v"])):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            info[tool] = (r.stdout or r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            pass
    return info


if __name__ == "__main__":
    sys.exit(main())
