"""Faults on Google's side (api.html#google-login) that test_google_login.py does not already show
(it has: stalls past google_timeout, 500s, closed connections, malformed JWKS, cold/warm/stale
caches, an unknown kid): other 5xx, a huge answer, a redirect (never followed), TLS with a
certificate for another name or from an unknown CA (google_ca_file trusts the tests' own CA),
and the worst-case wait of sign-ins queued behind a slow Google."""

import concurrent.futures
import datetime
import ipaddress
import math
import os
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from google_fixture import GoogleClient

LOGIN = "/api/social/login/google/"
UNAVAILABLE = {"detail": "Google could not be reached.", "code": "upstream_unavailable"}
TIMEOUT = 1  # google_timeout for these tests, seconds


@pytest.fixture
def gs(fake_google, make_server):
    def make(procs=1, google=None, **settings):
        conf = (google or fake_google).settings()
        conf["google_timeout"] = str(TIMEOUT)
        conf.update(settings)
        return make_server(procs=procs, **conf)
    return fake_google, make


def login(server, **fields):
    return server.post(LOGIN, json=fields, timeout=60)


def assert_unavailable(r):
    assert r.status_code == 503, r.text
    assert r.json() == UNAVAILABLE


def every_flow_unavailable(google, server):
    assert_unavailable(login(server, id_token=google.mint_id_token()))
    assert_unavailable(login(server, access_token=google.register_access_token()["access_token"]))
    assert_unavailable(login(server, code=google.register_code(id_token=google.mint_id_token())))
    assert server.cli_ok("user", "list") == ""


@pytest.mark.parametrize("status", ["502", "503", "504"])
def test_5xx_cold_cache(gs, status):
    google, make = gs
    server = make()
    google.fail("*", status)
    every_flow_unavailable(google, server)


def test_huge_answers(gs):
    """Over SA_GOOGLE_RESPONSE_MAX (64 KiB): not read to the end, 503; cached keys still
    serve ID tokens while the JWKS answer is huge."""
    google, make = gs
    warm = make()
    google.configure(max_age=1)
    assert login(warm, id_token=google.mint_id_token()).status_code == 200
    google.fail("*", "big")
    every_flow_unavailable(google, make())
    time.sleep(1.2)
    r = login(warm, id_token=google.mint_id_token())
    assert r.status_code == 200, r.text  # the stale keys keep working


def test_redirect_is_never_followed(gs):
    google, make = gs
    warm = make()
    assert login(warm, id_token=google.mint_id_token()).status_code == 200
    google.fail("*", "redirect")
    every_flow_unavailable(google, make())
    assert login(warm, id_token=google.mint_id_token()).status_code == 200  # cached keys
    assert google.followed() == 0


def test_jwks_lacking_the_tokens_key(gs):
    """Fresh keys, a token whose kid Google does not publish: the forced refetch brings no such
    key, 400 unknown_key; the signed-in user's next token still verifies with cached keys."""
    google, make = gs
    server = make()
    assert login(server, id_token=google.mint_id_token(sub="77")).status_code == 200
    r = login(server, id_token=google.mint_id_token(sign="unpublished"))
    assert r.status_code == 400 and r.json()["code"] == "unknown_key", r.text
    google.fail("*", "500")
    assert login(server, id_token=google.mint_id_token(sub="77")).status_code == 200


# ---- TLS ----

def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, issuer, key, signer, san=None, ca=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=1))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return b.sign(signer, hashes.SHA256())


def _pem(obj):
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@pytest.fixture
def tls(tmp_path):
    """A test CA and two server certificates it signed: one for 127.0.0.1 (where the fake
    listens) and one for another name. Returns {"ca": path, "right": (cert, key),
    "wrong": (cert, key)}."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert(_name("socialauth test CA"), _name("socialauth test CA"), ca_key, ca_key, ca=True)
    out = {"ca": str(tmp_path / "ca.pem")}
    (tmp_path / "ca.pem").write_bytes(_pem(ca))
    for which, san in (("right", [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       ("wrong", [x509.DNSName("accounts.example.net")])):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(_name(which), ca.subject, key, ca_key, san=san)
        (tmp_path / f"{which}.pem").write_bytes(_pem(cert))
        (tmp_path / f"{which}.key").write_bytes(_pem(key))
        os.chmod(tmp_path / f"{which}.key", 0o600)
        out[which] = (str(tmp_path / f"{which}.pem"), str(tmp_path / f"{which}.key"))
    return out


@pytest.fixture
def tls_google(tls):
    started = []

    def start(which):
        g = GoogleClient.start(tls=tls[which])
        started.append(g)
        return g
    yield start
    for g in started:
        g.stop()


def test_tls_trusted_ca_and_right_name_works(gs, tls, tls_google):
    """The control for the two below: our CA through google_ca_file, a certificate for the
    host we call: sign-ins work over HTTPS."""
    _, make = gs
    google = tls_google("right")
    server = make(google=google, google_ca_file=tls["ca"])
    assert login(server, id_token=google.mint_id_token()).status_code == 200
    at = google.register_access_token()["access_token"]
    assert login(server, access_token=at).status_code == 200


def test_tls_name_mismatch(gs, tls, tls_google):
    _, make = gs
    google = tls_google("wrong")
    server = make(google=google, google_ca_file=tls["ca"])
    every_flow_unavailable(google, server)
    assert google.calls()["certs"] == 0  # no request got past the handshake
    assert "SSL" in server.log() or "certificate" in server.log(), server.log()[-2000:]


def test_tls_unknown_ca(gs, tls, tls_google):
    _, make = gs
    google = tls_google("right")
    server = make(google=google)  # the system's CAs only
    every_flow_unavailable(google, server)
    assert google.calls()["certs"] == 0


def test_google_ca_file_must_be_readable(tmp_path, gs):
    _, make = gs
    with pytest.raises(AssertionError, match="`google_ca_file` .*missing.pem cannot be read"):
        make(google_ca_file=str(tmp_path / "missing.pem"))  # `socialauth init` refuses it


# ---- the wait behind a slow Google ----

def test_worst_case_wait_behind_a_slow_google(gs):
    """Each call to Google is bounded by google_timeout, and a sign-in makes at most three in
    a row (code exchange answered with an access token only: token endpoint, tokeninfo,
    userinfo). A process serves one request at a time, so Q sign-ins queued on P processes are
    all answered within ceil(Q / P) * 3 * google_timeout (README, "Security"). Here Google
    answers every call just inside the timeout."""
    google, make = gs
    procs, queued = 1, 3
    server = make(procs=procs)
    codes = [google.register_code(access_token=google.register_access_token(sub=f"9{i}")
                                  ["access_token"]) for i in range(queued)]
    google.fail("*", "stall", seconds=0.6 * TIMEOUT, then="ok")
    bound = math.ceil(queued / procs) * 3 * TIMEOUT
    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(queued) as pool:
        answers = list(pool.map(lambda c: (login(server, code=c), time.time() - t0), codes))
    for r, took in answers:
        assert r.status_code in (200, 503), r.text
        if r.status_code == 503:
            assert r.json() == UNAVAILABLE
        assert took < bound + 1.5, (took, bound)
    # And it was really queued: the last answer took about the sum of the others' calls.
    # Only where `procs` caps the processes exactly (lighttpd's and multiwatch's pools);
    # mod_fcgid spawns more under load and CGI runs a process per request: no queue there.
    if server.kind in ("lighttpd", "nginx"):
        assert max(t for _, t in answers) >= queued * 3 * 0.6 * TIMEOUT * 0.9
