#!/usr/bin/python3
"""profile: what one request costs an endpoint process, in measures that do not depend on how
busy the machine is: instructions (valgrind's callgrind), system calls (strace), both per
request; plus the time a freshly started process takes to answer its first request, and the
process's private memory (Private_Clean + Private_Dirty, /proc/PID/smaps_rollup) after a
number of requests.

    /usr/bin/python3 tests/bench/profile.py [--only user-me,posts] [--requests 200]
        [--memory-requests 100000] [--cgi-bin DIR] [--json FILE]

Each endpoint runs alone, started as lighttpd starts it (a listening unix socket as standard
input, SOCIALAUTH_CONF in its environment), driven by tests/bench/fcgi_client.py over one
connection per request, with a fresh store made by `bin/socialauth init` and the benchmark's
production settings (sync_rotation = true). Instructions per request are the difference of
two callgrind runs (W warm-up requests, then W + N) divided by N, so start-up and exit cancel
out; system calls are counted by `strace -f` attached after the warm-up, split into the
request thread's (per request) and any other thread's (per second: the store's watchdog).
The binaries are used as built (`make BUILD=release` for the numbers the README quotes).
Speed is never asserted: the exit status says only whether the measurement could run.
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BENCH_DIR = os.path.join(ROOT, "tests", "bench")
sys.path.insert(0, BENCH_DIR)
sys.path.insert(0, os.path.join(ROOT, "tests", "fakes"))
from fcgi_client import Endpoint, encode_request, parse_answer, private_kib  # noqa: E402

SIGNING_KEY = "profile-signing-key-0123456789abcdef0123456789abcdef"
CASES = ["floor", "health", "token-verify", "user-me", "posts", "token-refresh",
         "google-login", "first-login"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Store:
    """A fresh store and settings (the benchmark's production values), its user and tokens."""

    def __init__(self, workdir, google=None, sync=True):
        self.dir = workdir
        self.conf = os.path.join(workdir, "socialauth.conf")
        settings = {
            "db_home": os.path.join(workdir, "db"), "signing_key": SIGNING_KEY,
            "access_token_lifetime": "5m", "refresh_token_lifetime": "7d",
            "rotate_refresh_tokens": "true", "reuse_grace": "30s", "leeway": "0s",
            "sync_rotation": "true" if sync else "false",
            "cors_allowed_origins": "http://127.0.0.1:3000", "cookie_mode": "false",
            "max_body": "64k",
        }
        if google is not None:
            settings.update(google.settings())
        with open(os.open(self.conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.writelines(f"{k} = {v}\n" for k, v in settings.items())
        self.cli("init")
        self.cli("user", "create", "--username", "ada", "--email", "ada@example.com")

    def cli(self, *args):
        r = subprocess.run([os.path.join(ROOT, "bin", "socialauth"), "--config", self.conf,
                            *args], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise SystemExit(f"profile: socialauth {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def mint(self):
        return json.loads(self.cli("token", "mint", "ada"))


class Case:
    """One endpoint and how to make its next request. next_request() returns the encoded
    request; check(answer) raises unless it is the expected 200 (and keeps any state the
    next request needs, e.g. the rotated refresh token)."""

    def __init__(self, name, program, method, path, body=None, headers=None, state=None):
        self.name, self.program, self.method, self.path = name, program, method, path
        self.body, self.headers = body, headers or {}
        self.state = state

    def next_request(self):
        body = self.body() if callable(self.body) else self.body
        data = json.dumps(body).encode() if body is not None else b""
        headers = dict(self.headers)
        if data:
            headers["Content-Type"] = "application/json"
        return encode_request(self.method, self.path, data, headers)

    def check(self, raw):
        status, _, body = parse_answer(raw)
        if status != 200:
            raise SystemExit(f"profile: {self.name} answered {status}: {body[:300]!r}")
        if self.state is not None:
            self.state(json.loads(body))


def make_case(name, store, google, floor):
    if name == "floor":
        return Case(name, floor, "GET", "/bench/hello/")
    if name == "health":
        return Case(name, os.path.join(CGI_BIN, "health"), "GET", "/api/health/")
    tokens = store.mint()
    bearer = {"Authorization": "Bearer " + tokens["access"]}
    if name == "token-verify":
        return Case(name, prog(name), "POST", "/api/auth/token/verify/",
                    {"token": tokens["access"]})
    if name == "user-me":
        return Case(name, prog(name), "GET", "/api/auth/user/", headers=bearer)
    if name == "posts":
        return Case(name, prog(name), "GET", "/api/posts/", headers=bearer)
    if name == "token-refresh":
        current = {"refresh": tokens["refresh"]}
        return Case(name, prog(name), "POST", "/api/auth/token/refresh/",
                    lambda: {"refresh": current["refresh"]},
                    state=lambda answer: current.update(refresh=answer["refresh"]))
    if name == "google-login":
        token = google.mint_id_token(sub="1000001", email="returning@example.com",
                                     given_name="Returning", exp=int(time.time()) + 7200)
        return Case(name, prog("google-login"), "POST", "/api/social/login/google/",
                    {"id_token": token})
    if name == "first-login":
        counter = iter(range(10 ** 9))
        return Case(name, prog("google-login"), "POST", "/api/social/login/google/",
                    lambda: {"id_token": google.mint_id_token(
                        sub=f"2{next(counter):09d}", email=f"new{time.time_ns()}@example.com",
                        given_name="New", exp=int(time.time()) + 7200)})
    raise SystemExit(f"profile: unknown case {name}")


def prog(name):
    return os.path.join(CGI_BIN, name)


def drive(ep, case, n):
    """n requests in a row, each checked; returns the seconds they took."""
    t0 = time.perf_counter()
    for _ in range(n):
        case.check(ep.raw(case.next_request()))
    return time.perf_counter() - t0


def start(case, store, workdir, wrap=()):
    return Endpoint([case.program], {"SOCIALAUTH_CONF": store.conf},
                    os.path.join(workdir, case.name + ".sock"), wrap=wrap,
                    stderr=subprocess.DEVNULL)


def callgrind_total(case, store, workdir, requests):
    out = os.path.join(workdir, f"callgrind.{case.name}.{requests}")
    ep = start(case, store, workdir, ["valgrind", "--tool=callgrind", "-q",
                                      f"--callgrind-out-file={out}"])
    try:
        drive(ep, case, requests)
    finally:
        ep.finish()
    with open(out) as f:
        m = re.search(r"^(?:summary|totals): (\d+)", f.read(), re.M)
    return int(m.group(1))


def instructions(case, store, workdir, warm, n):
    """Instructions per request: (total after warm + n requests - after warm) / n."""
    base = callgrind_total(case, store, workdir, warm)
    more = callgrind_total(case, store, workdir, warm + n)
    return (more - base) / n


def syscalls(case, store, workdir, warm, n):
    """{"request": {name: per request}, "other": {name: per second}, "seconds": s}: the
    request thread's system calls per request, other threads' per second, under strace."""
    ep = start(case, store, workdir)
    trace = os.path.join(workdir, f"strace.{case.name}")
    try:
        drive(ep, case, warm)
        st = subprocess.Popen(["strace", "-f", "-qq", "-o", trace, "-p", str(ep.pid)],
                              stderr=subprocess.DEVNULL)
        time.sleep(0.5)   # attached to every thread
        seconds = drive(ep, case, n)
        st.send_signal(signal.SIGINT)
        st.wait(30)
    finally:
        ep.stop()
    per_req, other = {}, {}
    with open(trace) as f:
        for line in f:
            m = re.match(r"(\d+)\s+(?:<\.\.\. )?(\w+)", line)
            if not m or "resumed>" in line and "<..." not in line:
                continue
            if "<... " in line:     # the end of a call counted at its start
                continue
            tid, name = int(m.group(1)), m.group(2)
            if name in ("exit", "exit_group", "restart_syscall"):
                continue
            table = per_req if tid == ep.pid else other
            table[name] = table.get(name, 0) + 1
    return {"request": {k: v / n for k, v in sorted(per_req.items())},
            "other_per_second": {k: round(v / seconds, 1) for k, v in sorted(other.items())},
            "seconds": seconds}


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def spawn_and_memory(case, store, workdir, spawns, mem_requests):
    """Milliseconds from starting a process to its first answer (median of `spawns` fresh
    processes), and one process's private memory after 1,000 and after mem_requests
    requests, KiB, with its CPU time per request (wall-clock sensitive: for orientation)."""
    times = []
    for _ in range(spawns):
        payload = case.next_request()
        ep = start(case, store, workdir)
        try:
            raw = ep.raw(payload)
            times.append((time.perf_counter() - ep.started) * 1000)
            case.check(raw)
        finally:
            ep.stop()
    ep = start(case, store, workdir)
    try:
        drive(ep, case, 1000)
        early = private_kib(ep.pid)
        cpu0 = cpu_seconds(ep.pid)
        drive(ep, case, max(mem_requests - 1000, 0))
        cpu = cpu_seconds(ep.pid) - cpu0
        late = private_kib(ep.pid)
    finally:
        ep.stop()
    return {"spawn_ms": round(statistics.median(times), 2), "spawn_ms_all": times,
            "private_kib_after_1000": early, "private_kib_after": late,
            "memory_requests": max(mem_requests, 1000),
            "cpu_us_per_request": round(1e6 * cpu / max(mem_requests - 1000, 1), 1)}


def build_floor(workdir):
    out = os.path.join(workdir, "hello")
    subprocess.run([os.environ.get("CC", "cc"), "-O2", "-o", out,
                    os.path.join(BENCH_DIR, "hello.c"), "-lfcgi"], check=True)
    return out


def main(argv=None):
    global CGI_BIN
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", help="comma-separated cases (default: all): " + ",".join(CASES))
    p.add_argument("--requests", type=int, default=200,
                   help="requests measured under callgrind (default 200)")
    p.add_argument("--strace-requests", type=int, default=1000,
                   help="requests measured under strace (default 1000)")
    p.add_argument("--warm", type=int, default=20, help="warm-up requests (default 20)")
    p.add_argument("--spawns", type=int, default=5, help="fresh processes timed (default 5)")
    p.add_argument("--memory-requests", type=int, default=5000,
                   help="requests before the private memory is read (default 5000; the "
                        "README's figure: 100000)")
    p.add_argument("--no-callgrind", action="store_true")
    p.add_argument("--no-strace", action="store_true")
    p.add_argument("--cgi-bin", default=os.path.join(ROOT, "cgi-bin"))
    p.add_argument("--json", default=os.path.join(BENCH_DIR, "results", "profile.json"))
    args = p.parse_args(argv)
    CGI_BIN = os.path.abspath(args.cgi_bin)
    names = args.only.split(",") if args.only else CASES
    workdir = tempfile.mkdtemp(prefix="socialauth-profile-")
    google = None
    try:
        if any(n in ("google-login", "first-login") for n in names):
            from google_client import GoogleClient
            google = GoogleClient.start(max_age=86400)
        store = Store(workdir, google)
        floor = build_floor(workdir)
        results = {}
        for name in names:
            case = make_case(name, store, google, floor)
            if name in ("google-login",):   # the user exists and Google's keys are cached
                start(case, store, workdir).stop()
            log(f"profile: {name}")
            r = {}
            if not args.no_callgrind:
                r["instructions"] = round(instructions(case, store, workdir, args.warm,
                                                       args.requests))
            if not args.no_strace:
                r["syscalls"] = syscalls(case, store, workdir, args.warm, args.strace_requests)
            r.update(spawn_and_memory(case, store, workdir, args.spawns, args.memory_requests))
            results[name] = r
            log(f"  {json.dumps(r)}")
    finally:
        if google is not None:
            google.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print_table(results)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(results, f, indent=1)
    return 0


def print_table(results):
    w = sys.stdout.write
    w("%-14s %12s %9s %9s %9s %12s  %s\n" % ("case", "instr/req", "sys/req", "spawn ms",
                                              "priv KiB", "cpu us/req", "system calls per request"))
    for name, r in results.items():
        sc = r.get("syscalls", {})
        per = sc.get("request", {})
        calls = " ".join(f"{k}:{v:.2f}".rstrip("0").rstrip(".") for k, v in per.items())
        other = sc.get("other_per_second")
        if other:
            calls += "  | other threads /s: " + " ".join(f"{k}:{v}" for k, v in other.items())
        w("%-14s %12s %9s %9s %9s %12s  %s\n" % (
            name, f"{r['instructions']:,}" if "instructions" in r else "-",
            f"{sum(per.values()):.1f}" if per else "-", r["spawn_ms"],
            f"{r['private_kib_after_1000']}->{r['private_kib_after']}",
            r["cpu_us_per_request"], calls))


if __name__ == "__main__":
    sys.exit(main())
