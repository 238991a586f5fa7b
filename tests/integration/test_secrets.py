"""Secrets (issue 15): the programs refuse a signing key that is missing, too short, or
readable by group or others, with one clear log line and 503s; and the scan that checks every
server log of the suite for every secret it used (conftest.py, secret_watch.py) can fail."""

import os
import re

import pytest

import secret_watch
from sa_server import SIGNING_KEY

SERVICE_UNAVAILABLE = {"detail": "Service temporarily unavailable.", "code": "service_unavailable"}


def use_key_file(server, content, mode):
    """Point the server's settings at a key file with this content and mode; restart."""
    path = os.path.join(server.dir, "signing.key")
    if content is not None:
        with open(path, "w") as f:
            f.write(content)
        os.chmod(path, mode)
    elif os.path.exists(path):
        os.unlink(path)
    with open(server.conf) as f:
        lines = [l for l in f if not l.startswith("signing_key")]
    with open(server.conf, "w") as f:
        f.writelines(lines + [f"signing_key_file = {path}\n"])
    server.restart()
    return path


@pytest.mark.parametrize("content,mode,why", [
    (None, 0o600, "cannot open"),
    ("short-key-of-20-byte", 0o600, "at least 32 bytes"),
    (SIGNING_KEY, 0o640, "readable by group (mode 0640)"),
    (SIGNING_KEY, 0o604, "readable by others (mode 0604)"),
])
def test_bad_signing_key_refused(make_server, content, mode, why):
    s = make_server(procs=1)
    token = s.mint(s.create_user("keyholder")["pk"])["refresh"]
    path = use_key_file(s, content, mode)
    for _ in range(3):
        for method, url, kw in (("GET", "/api/health/", {}),
                                ("POST", "/api/auth/token/refresh/", {"json": {"refresh": token}}),
                                ("POST", "/api/auth/token/verify/", {"json": {"token": token}})):
            r = s.request(method, url, **kw)
            assert r.status_code == 503 and r.json() == SERVICE_UNAVAILABLE, (url, r.text)
    log = s.log()
    lines = [l for l in log.splitlines() if "signing_key" in l]
    # One line per process says what is wrong and where (not repeated on every request).
    assert lines, log[-2000:]
    assert all(why in l and (path in l or s.conf in l) for l in lines), lines
    per_process = {}
    for l in lines:
        # lighttpd: "FastCGI-stderr:PROGRAM: ..."; mod_fcgid: "stderr: PROGRAM: ...";
        # nginx: 'FastCGI sent in stderr: "PROGRAM: ...'; CGI: the program's own "PROGRAM: ...".
        name = re.search(r'(?:FastCGI-stderr:|stderr: "?|^)([a-z-]+): ', l)
        per_process[name and name.group(1)] = per_process.get(name and name.group(1), 0) + 1
    if s.kind in ("cgi", "lighttpd-cgi"):  # every request is a process: each one says why
        assert {"health", "token-refresh", "token-verify"} <= set(per_process), per_process
    else:
        assert max(per_process.values()) == 1, per_process
    assert SIGNING_KEY not in log and (content or "x" * 99) not in log


def test_good_key_file_works(make_server):
    s = make_server(procs=1)
    use_key_file(s, SIGNING_KEY + "\n", 0o600)
    assert s.get("/api/health/").status_code == 200


def test_secret_scan_finds_a_leak(tmp_path):
    """The session-end scan is not vacuous: a log holding a secret, or a JWT's signature
    alone, is caught."""
    token = "eyJhbGciOiJIUzI1NiJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2lnbmF0dXJlLXBhcnQtb2YtdGhlLXRva2Vu"
    secret_watch.add(token)
    secret_watch.add("client-secret-for-the-scan-test")
    log = tmp_path / "error.log"
    log.write_text("2026: (mod_fastcgi.c.449) FastCGI-stderr:x: refresh c2lnbmF0dXJlLXBhcnQtb2YtdGhlLXRva2Vu\n")
    assert secret_watch.leaks([str(log)])
    log.write_text("config: secret=client-secret-for-the-scan-test;\n")
    assert secret_watch.leaks([str(log)])
    log.write_text("nothing to see\n")
    assert not secret_watch.leaks([str(log)])
