"""kill -9 of endpoint processes under load (DESIGN.md section 3; lib/store.c says how the
store copes). Client threads keep token-refresh, google-login and user-me busy while
processes are killed; every answer is recorded.

- A process killed between requests (outside Berkeley DB) is cleaned up after with failchk
  by its replacement: nobody else notices, no other process exits, every answer is a 200.
- A process killed while busy may die inside Berkeley DB; then the environment is recovered
  and the other processes answer 503 and exit (their queued requests too, never a reset
  connection). Either way: no 500 of ours (JSON) ever, lighttpd's own 500 (HTML) only for
  requests a dying process held (at most one per client thread and kill), no hang, full
  service again within a few seconds, and every committed user and session still there.
"""

import json
import os
import random
import re
import signal
import subprocess
import threading
import time

import pytest
import requests

# The subject here is lighttpd's handling of its FastCGI processes (respawn, its own 500s);
# nginx's supervisor has its own test in test_deploy.py.
pytestmark = pytest.mark.lighttpd_only

REFRESH = "/api/auth/token/refresh/"
LOGIN = "/api/social/login/google/"
USER = "/api/auth/user/"
THREADS_PER_ENDPOINT = 2
RECOVERED_WITHIN = 3.0   # seconds from a kill to the last answer that is not a 200
REQUEST_TIMEOUT = 8.0    # a request this slow is a hang


def pids(server, name):
    out = subprocess.run(["pgrep", "-P", str(server.proc.pid), "-f", f"cgi-bin/{name}$"],
                         capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


class Load:
    """Client threads against one server; answers as (time, endpoint, status, json?)."""

    def __init__(self, server, google, users):
        self.s = server
        self.answers = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.logins = []           # (user pk, refresh token) of every 200 sign-in
        self.final = []            # each refresher's last refresh token
        self.threads = []
        for i in range(THREADS_PER_ENDPOINT):
            self.threads.append(threading.Thread(target=self.refresher,
                                                 args=(server.mint(users[i]["pk"]),)))
            self.threads.append(threading.Thread(target=self.reader,
                                                 args=(server.mint(users[i]["pk"])["access"],)))
            tokens = [google.mint_id_token(sub=f"fault-{i}-{j}", email=f"f{i}.{j}@example.com",
                                           given_name="F", family_name="L")
                      for j in range(150)]
            self.threads.append(threading.Thread(target=self.signer, args=(tokens,)))

    def note(self, endpoint, r=None, exc=None):
        if exc is not None:
            item = (time.monotonic(), endpoint, type(exc).__name__, False)
        else:
            item = (time.monotonic(), endpoint, r.status_code,
                    r.headers.get("Content-Type", "").startswith("application/json"))
        with self.lock:
            self.answers.append(item)

    def call(self, http, endpoint, method, path, **kw):
        try:
            r = http.request(method, self.s.url(path), timeout=REQUEST_TIMEOUT, **kw)
        except requests.RequestException as e:
            self.note(endpoint, exc=e)
            return None
        self.note(endpoint, r)
        return r

    def refresher(self, tokens):
        http, current = requests.Session(), tokens["refresh"]
        while not self.stop.is_set():
            r = self.call(http, "token-refresh", "POST", REFRESH, json={"refresh": current})
            if r is not None and r.status_code == 200:
                current = r.json()["refresh"]
        with self.lock:
            self.final.append(current)

    def reader(self, access):
        http = requests.Session()
        while not self.stop.is_set():
            self.call(http, "user-me", "GET", USER, headers={"Authorization": "Bearer " + access})

    def signer(self, id_tokens):
        http = requests.Session()
        for token in id_tokens:
            if self.stop.is_set():
                return
            r = self.call(http, "google-login", "POST", LOGIN, json={"id_token": token})
            if r is not None and r.status_code == 200:
                body = r.json()
                with self.lock:
                    self.logins.append((body["user"]["pk"], body["refresh"]))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def since(self, t0):
        with self.lock:
            return [a for a in self.answers if a[0] >= t0]


def exits(log):
    """Endpoint processes that exited by themselves (not our SIGKILL)."""
    return len(re.findall(r"child exited: [1-9]", log))


def kill(server, name, rnd):
    """kill -9 one process of endpoint name; returns when."""
    victims = pids(server, name)
    assert victims, f"no {name} process to kill"
    at = time.monotonic()
    os.kill(rnd.choice(victims), signal.SIGKILL)
    return at


def test_kill_minus_nine_under_load(make_server, fake_google):
    conf = fake_google.settings()
    conf["google_timeout"] = "2"
    s = make_server(procs=2, **conf)
    users = [s.create_user(f"load{i}") for i in range(THREADS_PER_ENDPOINT)]
    rnd = random.Random(20261127)
    client_threads = 3 * THREADS_PER_ENDPOINT

    with Load(s, fake_google, users) as load:
        time.sleep(1.0)
        assert len(load.since(0)) > 50, "no load"

        # Killed between requests: the endpoints under load never notice.
        t_idle = time.monotonic()
        for name in ("health", "logout", "token-verify", "posts"):
            kill(s, name, rnd)
            time.sleep(0.3)
        time.sleep(1.0)
        idle_phase = load.since(t_idle)
        assert idle_phase and all(a[2] == 200 for a in idle_phase), \
            sorted({a[1:] for a in idle_phase if a[2] != 200})
        assert exits(s.log()) == 0, s.log()[-3000:]

        # Killed while busy, at random moments.
        kills = []
        for name in ("token-refresh", "google-login", "user-me") * 2:
            time.sleep(rnd.uniform(0.4, 0.9))
            kills.append(kill(s, name, rnd))
        time.sleep(RECOVERED_WITHIN + 0.5)
        t_end = time.monotonic()
    busy_phase = load.since(kills[0])
    log = s.log()
    info = f"kills at {[round(k - kills[0], 2) for k in kills]}\n{log[-4000:]}"

    # Only 200, 503 (ours, or lighttpd's while no process of an endpoint is up) and
    # lighttpd's 500; never a 500 of ours, never a hang (a request timing out).
    assert not [a for a in busy_phase if a[2] == 500 and a[3]], info
    odd = [a for a in busy_phase if a[2] not in (200, 500, 503)]
    assert not odd, (odd[:10], info)
    # lighttpd's 500s: requests a dying process held, at most one per client thread and kill.
    for i, k in enumerate(kills):
        until = kills[i + 1] if i + 1 < len(kills) else t_end
        html500 = [a for a in busy_phase if k <= a[0] < until and a[2] == 500]
        assert len(html500) <= client_threads, (i, html500, info)
    # Full service again within a few seconds of the last kill: only 200s since.
    late = [a for a in busy_phase if a[0] > kills[-1] + RECOVERED_WITHIN and a[2] != 200]
    assert not late, (late[:10], info)
    assert sum(1 for a in busy_phase if a[0] > kills[-1] + RECOVERED_WITHIN) > 20, info
    print(f"\nkills: {len(kills)}, answers: {len(busy_phase)}, "
          f"503: {sum(1 for a in busy_phase if a[2] == 503)}, "
          f"lighttpd 500: {sum(1 for a in busy_phase if a[2] == 500)}, "
          f"processes that exited: {exits(log)}")

    # Nothing committed was lost: every user a sign-in answered for, every session.
    listed = s.cli("user", "list")
    assert listed.returncode == 0, listed.stderr
    present = {json.loads(line)["pk"] for line in listed.stdout.splitlines() if line.strip()}
    assert load.logins, "no sign-in succeeded"
    missing = [pk for pk, _ in load.logins if pk not in present]
    assert not missing, missing[:5]
    for token in [refresh for _, refresh in load.logins] + load.final:
        r = s.post(REFRESH, json={"refresh": token})
        assert r.status_code == 200, r.text


def test_fatal_exit_answers_queued_requests(make_server):
    """A process that must exit for recovery first answers, with our 503, every request
    already waiting on its socket: lighttpd never has to make up a 500 for them."""
    s = make_server(procs=1)
    [health] = pids(s, "health")
    assert s.get("/api/health/").status_code == 200
    # Another process recovers the environment (the mark a stuck process leaves): the
    # running ones find their handles panicked at their next call.
    open(os.path.join(s.db_home, "needs-recovery"), "w").close()
    s.cli_ok("session", "count")
    os.kill(health, signal.SIGSTOP)       # requests pile up on its socket meanwhile
    answers = []

    def ask():
        r = requests.get(s.url("/api/health/"), timeout=REQUEST_TIMEOUT)
        answers.append((r.status_code, r.headers.get("Content-Type", ""), r.text))

    askers = [threading.Thread(target=ask) for _ in range(5)]
    for t in askers:
        t.start()
    time.sleep(0.5)
    os.kill(health, signal.SIGCONT)
    for t in askers:
        t.join(REQUEST_TIMEOUT + 2)
    assert len(answers) == 5
    assert all(a[0] == 503 and a[1].startswith("application/json") for a in answers), answers
    assert "answering queued requests with 503" in s.log(), s.log()[-2000:]
    assert "response not received" not in s.log(), s.log()[-2000:]
    # and the next process serves
    deadline = time.time() + 5
    while s.get("/api/health/").status_code != 200:
        assert time.time() < deadline
        time.sleep(0.1)
