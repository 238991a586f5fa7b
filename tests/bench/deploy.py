"""The deployment rows of the benchmark (`bench.py --deploy`, also part of every `make bench`):
user-me and its floor behind each way of running the programs, at c=8 and c=32.

    stack              floor (same server)                       endpoint
    lighttpd fastcgi   hello.c, libfcgi responder                user-me GET
    apache fcgid       hello.c under mod_fcgid                   user-me GET
    apache cgi         hello-cgi.c, a plain C CGI program        user-me GET (a process each)

Every stack serves one tree installed by `make install PREFIX=<work dir>/tree` (release build,
as deployed), with the floors copied into its cgi-bin and added to its endpoint table, so that
the project's own generators (socialauth-lighttpd-conf, socialauth-apache-conf) serve them the
same way as the endpoints. Apache runs its children as www-data (when started as root).

mod_fcgid sleeps a whole second whenever a request finds every process of its endpoint busy,
and starts processes only then (fcgid_bridge.c): its processes must first grow to the peak
concurrency. So before measuring, each fcgid case is driven at WARM_CONNS (above the highest
level) until a 2-second check at the highest level has no request slower than STALL_MS, for at
most WARMUP_MAX seconds; the table says how long
that took and how many processes there were after each row. Per row: requests/s, p50, p99, max, requests slower
than STALL_MS (stalls), and errors.
"""

import json
import os
import sys
import pwd
import shutil
import subprocess
import time

STALL_MS = 900
WARMUP_MAX = {"short": 20, "long": 90}   # seconds, by bench mode
SECONDS = {"short": 2, "medium": 5, "long": 10}       # per row, unless --duration
LEVELS = (8, 32)
WARM_CONNS = 64   # above the highest level, at Apache's worker count (MaxRequestWorkers)


def install_tree(root, workdir, log):
    tree = os.path.join(workdir, "tree")
    log(f"bench: make install PREFIX={tree}")
    subprocess.run(["make", "-s", "-C", root, "install", f"PREFIX={tree}"], check=True,
                   stdout=subprocess.DEVNULL)
    libexec = os.path.join(tree, "lib", "socialauth")
    bench_dir = os.path.join(root, "tests", "bench")
    subprocess.run(["cc", "-O2", "-o", os.path.join(libexec, "cgi-bin", "hello"),
                    os.path.join(bench_dir, "hello.c"), "-lfcgi"], check=True)
    subprocess.run(["cc", "-O2", "-o", os.path.join(libexec, "cgi-bin", "hello-cgi"),
                    os.path.join(bench_dir, "hello_cgi.c")], check=True)
    with open(os.path.join(libexec, "etc", "endpoints"), "a") as f:
        f.write("^/bench/hello/?$  hello\n")
    for d in (workdir, tree):
        os.chmod(d, 0o755)
    return tree


class Stack:
    """One web server in the foreground on a free port, serving the installed tree."""

    def __init__(self, bench, tree, name, kind, conf):
        self.name = name
        self.kind = kind
        self.dir = os.path.join(os.path.dirname(tree), name)
        run = os.path.join(self.dir, "run")
        os.makedirs(run)
        if os.geteuid() == 0:
            www = pwd.getpwnam("www-data")
            for d in (self.dir, run):
                os.chown(d, www.pw_uid, www.pw_gid)
        libexec = os.path.join(tree, "lib", "socialauth")
        self.port = bench.free_port()
        self.errorlog = os.path.join(self.dir, "error.log")
        server_conf = os.path.join(self.dir, "server.conf")
        if kind == "lighttpd":
            gen = [os.path.join(libexec, "bin", "socialauth-lighttpd-conf"), "--root", libexec,
                   "--htdocs", os.path.join(tree, "share", "socialauth", "htdocs"),
                   "--port", str(self.port), "--conf", conf, "--run-dir", run,
                   "--procs", str(bench.CORES), "--errorlog", self.errorlog]
            if os.geteuid() == 0:  # as the installed tree's service_user, who owns store and key
                gen += ["--user", "www-data"]
            cmd = ["lighttpd", "-D", "-f", server_conf]
        else:
            gen = [os.path.join(libexec, "bin", "socialauth-apache-conf"),
                   "--mode", "fcgid" if kind == "fcgid" else "cgi", "--part", "full",
                   "--conf", conf, "--cgi-bin", os.path.join(libexec, "cgi-bin"),
                   "--htdocs", os.path.join(tree, "share", "socialauth", "htdocs"),
                   "--port", str(self.port), "--run-dir", run, "--errorlog", self.errorlog]
            cmd = ["apache2", "-DFOREGROUND", "-f", server_conf]
        with open(server_conf, "w") as f:
            subprocess.run(gen, check=True, stdout=f, timeout=30)
        self.proc = subprocess.Popen(cmd, start_new_session=True, stdin=subprocess.DEVNULL)
        try:
            bench.wait_http(self.port, "/api/health/", (200,), self.proc, name)
        except BaseException:  # never leave a server behind: its log says why it failed
            bench.stop_group(self.proc)
            with open(self.errorlog, errors="replace") as f:
                sys.stderr.write(f.read()[-2000:])
            raise
        self.url = f"http://127.0.0.1:{self.port}"

    def processes(self, program):
        """How many processes of `program` this server runs now."""
        out = subprocess.run(["pgrep", "-x", program], capture_output=True, text=True).stdout
        n = 0
        for pid in out.split():
            try:
                n += os.getpgid(int(pid)) == self.proc.pid
            except ProcessLookupError:  # a CGI process that just ended
                pass
        return n

    def stop(self, bench):
        bench.stop_group(self.proc)


def row(result, seconds):
    lat = result.get("latency_us") or {}
    pct = lat.get("percentiles") or {}
    errors = sum(int(result.get("errors", {}).get(k, 0)) for k in ("connect", "read", "write", "timeout"))
    return {
        "rps": round(result["requests"] / max(result["duration_us"] / 1e6, 1e-6)),
        "p50_ms": round(pct.get("50", 0) / 1000, 2),
        "p99_ms": round(pct.get("99", 0) / 1000, 2),
        "max_ms": round(lat.get("max", 0) / 1000, 1),
        "stalls": int(result.get("slow_900ms", 0)),
        "non2xx": int(result.get("errors", {}).get("status", 0)),
        "errors": int(errors),
        "seconds": seconds,
    }


def run(bench, args, workdir, log):
    """Measure every row; returns them (list of dicts) for bench.py to print and record."""
    root = bench.ROOT
    tree = install_tree(root, workdir, log)
    conf = os.path.join(tree, "etc", "socialauth", "socialauth.conf")
    with open(conf, "a") as f:
        f.write(f"max_procs = {bench.CORES}\n")
    cli = os.path.join(tree, "bin", "socialauth")
    subprocess.run([cli, "init"], check=True, capture_output=True)
    user = subprocess.run([cli, "user", "create", "--username", "bench", "--email", "bench@example.com"],
                          check=True, capture_output=True, text=True).stdout
    pk = json.loads(user)["pk"]
    # Access tokens live 5 minutes (the example's lifetime): one per stack, minted at its start.
    seconds = args.duration or SECONDS[args.mode]
    rows = []
    stacks = [("lighttpd fastcgi", "lighttpd", "/bench/hello/", "hello"),
              ("apache fcgid", "fcgid", "/bench/hello/", "hello"),
              ("apache cgi", "cgi", "/bench/hello-cgi/", None)]
    for label, kind, floor_path, floor_prog in stacks:
        if kind == "cgi":  # not earlier: lighttpd would start it as a FastCGI program
            with open(os.path.join(tree, "lib", "socialauth", "etc", "endpoints"), "a") as f:
                f.write("^/bench/hello-cgi/?$  hello-cgi\n")
        stack = Stack(bench, tree, kind, kind, conf)
        try:
            token = json.loads(subprocess.run([cli, "token", "mint", pk], check=True, capture_output=True,
                                              text=True).stdout)["access"]
            cases = [("floor", floor_path, ["GET", "-"], floor_prog),
                     ("user-me", "/api/auth/user/", ["GET", "-", "Authorization: Bearer " + token], "user-me")]
            for case, path, script_args, prog in cases:
                warm = None
                if kind == "fcgid":
                    warm = warm_up(bench, args, stack, path, script_args, WARM_CONNS,
                                   WARMUP_MAX[args.mode], log)
                for conns in LEVELS:
                    result = bench.run_wrk(stack.url + path, "static.lua", script_args, conns, seconds,
                                           max(1, args.threads), args.timeout)
                    r = row(result, seconds)
                    r.update(stack=label, case=case, conns=conns)
                    if warm:
                        r["warmup"] = warm
                    if prog:
                        r["processes"] = stack.processes(prog)
                    rows.append(r)
                    log(f"bench: {label} {case} c={conns}: {r['rps']} req/s, p99 {r['p99_ms']} ms")
        finally:
            stack.stop(bench)
    return rows


def warm_up(bench, args, stack, path, script_args, conns, limit, log):
    """Drive an fcgid endpoint at `conns` for 2 s at a time until a 2-second run at the highest
    measured level has no stall, or `limit` seconds have passed."""
    t0 = time.time()
    while True:
        bench.run_wrk(stack.url + path, "static.lua", script_args, conns, 2, 1, args.timeout)
        check = bench.run_wrk(stack.url + path, "static.lua", script_args, max(LEVELS), 2, 1,
                              args.timeout)
        slowest = (check.get("latency_us") or {}).get("max", 0) / 1000
        if slowest < STALL_MS or time.time() - t0 > limit:
            break
    took = round(time.time() - t0, 1)
    log(f"bench: {stack.name} {path}: warm after {took} s (slowest of last check {round(slowest)} ms)")
    return {"seconds": took, "last_max_ms": round(slowest)}


def print_rows(rows):
    print()
    print("Deployment rows: user-me and its floor per stack (release build, installed tree).")
    print(f"{'stack':18} {'case':8} {'c':>3} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>8} "
          f"{'max ms':>8} {'>900ms':>6} {'errors':>6} {'procs':>5}  warm-up")
    for r in rows:
        warm = r.get("warmup")
        warm_s = f"{warm['seconds']} s" if warm else ""
        print(f"{r['stack']:18} {r['case']:8} {r['conns']:>3} {r['rps']:>7} {r['p50_ms']:>7} "
              f"{r['p99_ms']:>8} {r['max_ms']:>8} {r['stalls']:>6} {r['errors'] + r['non2xx']:>6} "
              f"{r.get('processes', ''):>5}  {warm_s}")
    print()
