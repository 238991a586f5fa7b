"""Issue 9 at the HTTP level, through lighttpd and the fake Google (tests/fakes/):
keys from the network are checked before use (point 1), a failed JWKS fetch logs its real
cause (point 7), the access token travels in a POST body, not a URL (point 7), and what was
already sound stays so: no redirect followed, TLS verified, answers capped, no secret in logs."""

import http.server
import os
import ssl
import threading
import time

import pytest
import requests

LOGIN = "/api/social/login/google/"
UNAVAILABLE = {"detail": "Google could not be reached.", "code": "upstream_unavailable"}


@pytest.fixture
def gs(fake_google, make_server):
    """(fake Google, make) where make(**settings) starts socialauth pointed at the fake."""
    def make(**settings):
        conf = fake_google.settings()
        conf["google_timeout"] = "1"
        conf.update(settings)
        return make_server(**conf)
    return fake_google, make


def login(server, **fields):
    return server.post(LOGIN, json=fields)


def wait_for_log(server, text, seconds=3):
    """The error log once it holds text (lighttpd writes it asynchronously), else its text."""
    deadline = time.time() + seconds
    while True:
        log = server.log()
        if text in log or time.time() > deadline:
            return log
        time.sleep(0.05)


# ---- point 1: keys from the network ----

REFUSED_KEYS = [
    ("e1", "exponent under 65537"),      # the forgery: signature = padded hash, no private key
    ("e2", "exponent under 65537"),
    ("e3", "exponent under 65537"),      # a real key with e = 3, token properly signed
    ("even_n", "modulus is even"),
    ("rsa1024", "modulus under 2048 bits"),  # a real 1024-bit key, token properly signed
    ("composite_n", "fails OpenSSL's public key check"),  # only OpenSSL's check refuses it
]


@pytest.mark.parametrize("kind,reason", REFUSED_KEYS, ids=[k for k, _ in REFUSED_KEYS])
def test_weak_jwks_key_is_ignored_and_logged(gs, kind, reason):
    google, make = gs
    kid = google.add_bad_key(kind)
    server = make()
    token = google.mint_id_token(bad_kid=kid, sub="666", email="victim@example.com")
    r = login(server, id_token=token)
    assert r.status_code == 400, r.text
    assert r.json() == {"non_field_errors": ["Incorrect value"], "code": "unknown_key"}
    line = 'google: JWKS key kid "%s" ignored: %s' % (kid, reason)
    assert line in wait_for_log(server, line)
    assert server.cli_ok("user", "list") == ""
    # The document's good keys keep working, and the refusal is logged once per document.
    assert login(server, id_token=google.mint_id_token()).status_code == 200
    calls = google.calls()["certs"]
    assert login(server, id_token=token).status_code == 400
    assert google.calls()["certs"] == calls  # a refused kid forces no refetch
    # Under CGI every request is a process that reads the cached document anew: at most one
    # line per request (three here); a FastCGI process logs it once.
    cgi = server.kind in ("cgi", "lighttpd-cgi")
    assert 1 <= server.log().count(line) <= 3 if cgi else server.log().count(line) == 1
    assert "kid names a key we refused (%s)" % reason in wait_for_log(server, "we refused")


def store_bytes(server):
    """Every byte of the store's files (database and log): what was ever written to it."""
    data = b""
    for root, _, files in os.walk(server.db_home):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                data += f.read()
    return data


def test_refused_key_verdict_reaches_a_new_process(gs):
    """Issue 13: the process that fetched Google's keys shares its verdict (google_internal.h,
    SA_GOOGLE_CHECKED_MEMBER), not Google's text; new processes take the refused kid from it:
    400 unknown_key without a refetch, and the refusal logged again by the new process."""
    google, make = gs
    kid = google.add_bad_key("composite_n")
    server = make()
    token = google.mint_id_token(bad_kid=kid, sub="666", email="victim@example.com")
    assert login(server, id_token=token).json()["code"] == "unknown_key"
    assert login(server, id_token=google.mint_id_token()).status_code == 200
    stored = store_bytes(server)
    assert b'"socialauth_checked"' in stored
    assert (b'{"kid":"%s","reason":"fails OpenSSL\'s public key check"}' % kid.encode()) in stored
    published = requests.get(google.jwks_url, timeout=10).json()["keys"]
    bad_n = next(k["n"] for k in published if k["kid"] == kid)
    assert bad_n.encode() not in stored  # the refused key itself never reaches the store
    line = 'google: JWKS key kid "%s" ignored: %s' % (kid, "fails OpenSSL's public key check")
    before = wait_for_log(server, line).count(line)
    calls = google.calls()["certs"]
    server.restart()  # new processes, the same store
    r = login(server, id_token=token)
    assert r.status_code == 400, r.text
    assert r.json() == {"non_field_errors": ["Incorrect value"], "code": "unknown_key"}
    assert login(server, id_token=google.mint_id_token()).status_code == 200
    assert google.calls()["certs"] == calls
    deadline = time.time() + 3
    while server.log().count(line) <= before and time.time() < deadline:
        time.sleep(0.05)
    assert server.log().count(line) > before


# ---- point 7: the cause of a failed JWKS fetch is logged ----

FETCH_FAILURES = [
    ("500", "Google's JWKS answered HTTP 500"),
    ("redirect", "Google's answer is a redirect (HTTP 302): refused"),
    ("big", "Google's answer is over 65536 bytes"),
    ("stall", "Timeout was reached"),
    ("bad_json", "JWKS document is not JSON"),
    ("close", "Google unreachable: "),
]


@pytest.mark.parametrize("mode,cause", FETCH_FAILURES, ids=[m for m, _ in FETCH_FAILURES])
def test_jwks_fetch_failure_logs_its_cause(gs, mode, cause):
    google, make = gs
    server = make()
    google.fail("certs", mode, seconds=3)
    r = login(server, id_token=google.mint_id_token())
    assert r.status_code == 503 and r.json() == UNAVAILABLE
    log = wait_for_log(server, cause)
    assert "Google unreachable and no keys cached (last fetch: " in log
    assert cause in log
    if mode == "redirect":
        assert google.calls()["certs"] == 1  # the redirect (to itself) was not followed


def test_jwks_over_tls_without_a_trusted_certificate(gs, tmp_path):
    """TLS is verified: a self-signed server is refused, and the log says so."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import datetime
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    pem = tmp_path / "tls.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))

    class Certs(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b'{"keys":[]}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Certs)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(pem))
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        google, make = gs
        url = "https://127.0.0.1:%d/oauth2/v3/certs" % httpd.server_address[1]
        server = make(google_jwks_url=url)
        r = login(server, id_token=google.mint_id_token())
        assert r.status_code == 503 and r.json() == UNAVAILABLE
        log = wait_for_log(server, "certificate")
        assert "Google unreachable: " in log and "certificate" in log, log
    finally:
        httpd.shutdown()
        httpd.server_close()


# ---- point 7: the access token never goes into a URL ----

def test_tokeninfo_gets_the_token_in_a_post_body(gs):
    google, make = gs
    server = make()
    at = google.register_access_token()["access_token"]
    r = login(server, access_token=at)
    assert r.status_code == 200, r.text
    lines = google.requests()
    assert "POST /oauth2/v3/tokeninfo" in lines
    assert not [line for line in lines if at in line], lines
    assert at not in server.log()


# ---- already sound, kept so: no secret or token in the log ----

def test_no_secret_or_token_in_the_log(gs):
    from sa_server import SIGNING_KEY
    google, make = gs
    server = make()
    secret = google.client_secret
    seen = []
    ok = login(server, id_token=google.mint_id_token()).json()
    seen += [ok["access"], ok["refresh"]]
    bad = google.mint_id_token(sign="bad_signature")
    seen.append(bad)
    assert login(server, id_token=bad).status_code == 400
    at = google.register_access_token(expires_in=-10, google_checks_expiry=False)["access_token"]
    seen.append(at)
    assert login(server, access_token=at).status_code == 400
    google.configure(client_secret="rotated-by-google")   # our secret is now wrong
    code = google.register_code(id_token=google.mint_id_token())
    seen.append(code)
    assert login(server, code=code).status_code == 503
    google.fail("*", "500")
    at2 = google.register_access_token()["access_token"]
    seen.append(at2)
    assert login(server, access_token=at2).status_code == 503
    log = wait_for_log(server, "refused our client credentials")
    assert "refused our client credentials" in log  # the log does speak of these failures
    for value in seen + [secret, SIGNING_KEY]:
        assert value not in log


# ---- point 3: numbers from outside saturate or are refused ----

EXPIRIES = [
    ({"expires_in": 2 ** 63 - 1}, None),          # saturates: alive
    ({"expires_in": -5}, "malformed"),
    ({"expires_in": "-5"}, "malformed"),
    ({"expires_in": "9223372036854775807"}, "malformed"),  # over 15 digits as text
    ({"expires_in": 1e300}, "malformed"),
]


@pytest.mark.parametrize("overrides,code", EXPIRIES, ids=[str(o) for o, _ in EXPIRIES])
def test_tokeninfo_expiry_from_outside(gs, overrides, code):
    google, make = gs
    server = make()
    at = google.register_access_token(remove_info=["exp"], info_overrides=overrides)
    r = login(server, access_token=at["access_token"])
    if code is None:
        assert r.status_code == 200, r.text
    else:
        assert r.status_code == 400, r.text
        assert r.json() == {"non_field_errors": ["Incorrect value"], "code": code}
        assert server.cli_ok("user", "list") == ""


def test_huge_jwks_max_age_is_capped(gs):
    google, make = gs
    google.configure(max_age=2 ** 63 - 1)
    server = make()
    assert login(server, id_token=google.mint_id_token()).status_code == 200
    assert login(server, id_token=google.mint_id_token()).status_code == 200
    assert google.calls()["certs"] == 1


# ---- point 5: secrets ----

def test_config_with_inline_secret_must_be_private(make_server):
    """The endpoint and the CLI refuse a readable file that holds a secret, saying how to fix it."""
    import subprocess
    from sa_server import ROOT
    s = make_server()
    os.chmod(s.conf, 0o644)
    s.restart()
    r = s.get("/api/health/")
    assert r.status_code == 503
    want = ("%s holds `signing_key` but is readable by group and others (mode 0644): "
            "run `chmod 600 %s`" % (s.conf, s.conf))
    assert want in wait_for_log(s, want)
    cli = subprocess.run([os.path.join(ROOT, "bin", "socialauth"), "--config", s.conf, "user",
                          "list"], capture_output=True, text=True, timeout=60)
    assert cli.returncode == 4 and want in cli.stderr
    os.chmod(s.conf, 0o600)
    s.restart()
    assert s.get("/api/health/").status_code == 200


def test_client_secret_from_a_file(gs, tmp_path):
    google, make = gs
    secret = tmp_path / "client.secret"
    secret.write_text(google.client_secret + "\n")
    secret.chmod(0o600)
    server = make(google_client_secret=None, google_client_secret_file=str(secret))
    code = google.register_code(id_token=google.mint_id_token(), redirect_uri="http://127.0.0.1/callback")
    r = login(server, code=code)
    assert r.status_code == 200, r.text
    # Both forms at once: refused, naming both.
    server.stop()
    with open(server.conf, "a") as f:
        f.write("google_client_secret = %s\n" % google.client_secret)
    server.start()
    assert server.get("/api/health/").status_code == 503
    assert "both `google_client_secret` and `google_client_secret_file` are set" in wait_for_log(
        server, "keep one")


def test_fifo_key_file_is_refused_not_waited_on(make_server):
    """Review of issue 9, F1: a FIFO as the signing key file makes the endpoints answer 503
    and log why at once (open no longer waits for a writer), and the CLI exit with 4."""
    import subprocess
    from sa_server import ROOT
    s = make_server()
    fifo = os.path.join(os.path.dirname(s.conf), "key.fifo")
    os.mkfifo(fifo, 0o600)
    text = open(s.conf).read().replace("signing_key = ", "signing_key_file = %s\n#" % fifo)
    with open(s.conf, "w") as f:
        f.write(text)
    s.restart()
    for path in ("/api/health/", "/api/auth/user/"):
        r = s.get(path, timeout=5)
        assert r.status_code == 503, (path, r.text)
    want = "%s is not a regular file" % fifo
    log = wait_for_log(s, want)
    assert want in log
    cli = subprocess.run([os.path.join(ROOT, "bin", "socialauth"), "--config", s.conf, "user",
                          "list"], capture_output=True, text=True, timeout=10)
    assert cli.returncode == 4 and want in cli.stderr, cli.stderr
