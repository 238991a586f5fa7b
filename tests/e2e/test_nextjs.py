"""End to end: the Next-Auth example (examples/nextjs/) signs in through socialauth in Chromium.

Starts the fake Google as an OpenID provider, two socialauth instances behind lighttpd (bearer
mode, and cookie mode with cookie_secure = false on loopback), both with a 6-second access
token, and the example app (`npm ci`, `next build`, `next start`) once per mode; then
examples/nextjs/e2e/browser.mjs drives Debian's Chromium through each flow. Screenshots go to
tests/e2e/artifacts/. Everything started here is stopped here, by process group.
Needs node >= 20.9, npm and /usr/bin/chromium: without them the test fails, it is not skipped.
E2E_REUSE_BUILD=1 (while developing) keeps the last `npm ci` and `next build`.
"""

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
APP = os.path.join(ROOT, "examples", "nextjs")
ARTIFACTS = os.path.join(HERE, "artifacts")
CHROMIUM = "/usr/bin/chromium"
ACCESS_LIFETIME_S = 6
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "fakes"))

from google_client import GoogleClient  # noqa: E402
from sa_server import Server, free_port  # noqa: E402


def _terminated(signum, frame):
    # `timeout` in the Makefile sends SIGTERM: unwind so that every fixture stops what it started.
    raise KeyboardInterrupt("terminated by signal %d" % signum)


signal.signal(signal.SIGTERM, _terminated)


def require_tools():
    missing = [what for what, ok in (
        ("node", shutil.which("node")), ("npm", shutil.which("npm")),
        (CHROMIUM, os.access(CHROMIUM, os.X_OK))) if not ok]
    if missing:
        pytest.fail("e2e needs %s (bin/socialauth-deps e2e installs Chromium; Node.js >= 20.9 "
                    "with npm must be on PATH)" % ", ".join(missing), pytrace=False)
    version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    major, minor = (int(x) for x in version.lstrip("v").split(".")[:2])
    if (major, minor) < (20, 9):
        pytest.fail("e2e needs Node.js >= 20.9 (next 16), found %s" % version, pytrace=False)


def run(args, timeout, env=None):
    """Run a build step in the app's folder, in its own process group; fail with its output."""
    started = time.monotonic()
    proc = subprocess.Popen(args, cwd=APP, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    print("%s: %.1f s" % (" ".join(args), time.monotonic() - started))
    assert proc.returncode == 0, "%s failed:\n%s" % (" ".join(args), out[-4000:])
    return out


def base_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXT")}
    env["NEXT_TELEMETRY_DISABLED"] = "1"
    return env


@pytest.fixture(scope="module")
def built_app():
    require_tools()
    env = base_env()
    if os.environ.get("E2E_REUSE_BUILD") == "1" and os.path.isdir(os.path.join(APP, ".next")):
        print("E2E_REUSE_BUILD=1: using the existing node_modules and .next build")
    else:
        run(["npm", "ci", "--no-audit", "--no-fund"], 600, env)
        run([os.path.join("node_modules", ".bin", "next"), "build"], 600, env)
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    os.makedirs(ARTIFACTS)
    return APP


@pytest.fixture(scope="module")
def google():
    g = GoogleClient.start()
    yield g
    g.stop()


class NextApp:
    """`next start` on 127.0.0.1:port with the example's environment; output to a log file."""

    def __init__(self, port, env, log_path):
        self.url = "http://127.0.0.1:%d" % port
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [os.path.join("node_modules", ".bin", "next"), "start", "-H", "127.0.0.1",
             "-p", str(port)], cwd=APP, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(self.url + "/api/auth/providers", timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("next start did not come up:\n" + open(log_path).read())
            time.sleep(0.2)

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


def flow(mode, built_app, google, tmp_path):
    app_port = free_port()
    app_url = "http://127.0.0.1:%d" % app_port
    settings = google.settings(redirect_uri=app_url + "/api/auth/callback/google")
    settings.update(google_issuers=google.base_url, cors_allowed_origins=app_url,
                    access_token_lifetime="%ds" % ACCESS_LIFETIME_S)
    if mode == "cookie":
        settings.update(cookie_mode="true", cookie_secure="false", cookie_samesite="Lax")
    (tmp_path / "sa").mkdir()
    server = Server(tmp_path / "sa", procs=2, **settings)
    app = None
    try:
        env = base_env()
        env.update(NEXTAUTH_URL=app_url, NEXTAUTH_SECRET=secrets.token_hex(32),
                   GOOGLE_CLIENT_ID=google.client_id, GOOGLE_CLIENT_SECRET=google.client_secret,
                   GOOGLE_ISSUER=google.base_url, SOCIALAUTH_URL=server.base,
                   SOCIALAUTH_MODE=mode)
        app = NextApp(app_port, env, str(tmp_path / "next.log"))
        env.update(APP_URL=app_url, NEXT_LOG=app.log_path, ARTIFACTS=ARTIFACTS,
                   ACCESS_LIFETIME_MS=str(ACCESS_LIFETIME_S * 1000), CHROMIUM=CHROMIUM,
                   USER_DATA_DIR=str(tmp_path / "chromium-profile"),
                   SOCIALAUTH_BIN=os.path.join(ROOT, "bin", "socialauth"), SOCIALAUTH_CONF=server.conf)
        browser = subprocess.Popen(["node", os.path.join("e2e", "browser.mjs"), mode], cwd=APP,
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, start_new_session=True)
        try:
            out, _ = browser.communicate(timeout=300)
        finally:
            try:   # Chromium and its helpers are in the driver's process group
                os.killpg(browser.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            browser.wait()
        print(out)
        assert browser.returncode == 0, "%s flow failed (screenshots in %s):\n%s\n--- next:\n%s" \
            "\n--- lighttpd:\n%s" % (mode, ARTIFACTS, out, open(app.log_path).read()[-4000:],
                                     server.log()[-4000:])
        assert "PASS" in out
    finally:
        if app:
            app.stop()
        server.stop()


def test_bearer_mode(built_app, google, tmp_path):
    """Sign in, user and posts, first name saved, refresh, two tabs racing, sign out, again."""
    flow("bearer", built_app, google, tmp_path)


def test_cookie_mode(built_app, google, tmp_path):
    """The browser posts Google's id_token itself; refresh, user-me, logout by cookie."""
    flow("cookie", built_app, google, tmp_path)
