"""GoogleClient: a test's handle on a running fake Google (tests/fakes/fake_google.py).

    g = GoogleClient("http://127.0.0.1:PORT")
    tok = g.mint_id_token(aud="other")            # any claim override, as keyword arguments
    tok = g.mint_id_token(sign="none")             # alg none; "hs256_pubkey", "unpublished",
                                                   # "bad_signature" likewise
    at = g.register_access_token(email="a@b.c")    # returns the dict the fake answered
    code = g.register_code(id_token=tok, access_token=at["access_token"], code_verifier="...")
    g.rotate(); g.fail("certs", "stall", seconds=3); g.calls()["certs"]

Standard library only, so it runs anywhere /usr/bin/python3 does.
"""

import json
import ssl
import subprocess
import sys
import os
import urllib.request

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_google.py")


class GoogleClient:
    def __init__(self, base_url, process=None):
        self.base_url = base_url.rstrip("/")
        self.process = process

    # ---- URLs for socialauth.conf ----

    @property
    def jwks_url(self):
        return self.base_url + "/oauth2/v3/certs"

    @property
    def tokeninfo_url(self):
        return self.base_url + "/oauth2/v3/tokeninfo"

    @property
    def userinfo_url(self):
        return self.base_url + "/v1/userinfo"

    @property
    def token_url(self):
        return self.base_url + "/token"

    def settings(self, client_ids=None, redirect_uri="http://127.0.0.1/callback"):
        """socialauth.conf settings (a dict) pointing every Google setting at this fake."""
        info = self.config()
        return {"google_client_ids": " ".join(client_ids or [info["client_id"]]),
                "google_client_secret": info["client_secret"],
                "google_redirect_uri": redirect_uri,
                "google_jwks_url": self.jwks_url,
                "google_tokeninfo_url": self.tokeninfo_url,
                "google_userinfo_url": self.userinfo_url,
                "google_token_url": self.token_url}

    def config_lines(self, client_ids=None, redirect_uri="http://127.0.0.1/callback"):
        """socialauth.conf lines pointing every Google setting at this fake."""
        info = self.config()
        ids = client_ids or [info["client_id"]]
        return ("google_client_ids = %s\n" % " ".join(ids) +
                "google_client_secret = %s\n" % info["client_secret"] +
                "google_redirect_uri = %s\n" % redirect_uri +
                "google_jwks_url = %s\n" % self.jwks_url +
                "google_tokeninfo_url = %s\n" % self.tokeninfo_url +
                "google_userinfo_url = %s\n" % self.userinfo_url +
                "google_token_url = %s\n" % self.token_url)

    # ---- plumbing ----

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        # The tests' own TLS fake has a certificate made for a test (maybe for another name):
        # the controls do not check it; socialauth, the program under test, does.
        ctx = ssl._create_unverified_context() if self.base_url.startswith("https:") else None
        with urllib.request.urlopen(req, timeout=30, context=ctx) as res:
            return json.loads(res.read())

    def _post(self, what, body=None):
        return self._call("POST", "/_fake/" + what, body or {})

    # ---- controls ----

    def mint(self, **spec):
        """Full control: /_fake/mint spec (claims, remove, header, sign, kid, access_token...).
        Returns {"id_token", "claims", "header", "kid"}."""
        return self._post("mint", spec)

    def mint_id_token(self, sign="rs256", remove=(), header=None, access_token=None,
                      kid=None, raw_header=None, raw_payload=None, bad_kid=None, **claims):
        """An ID token string; keyword arguments override claims (exp=..., aud=[...], ...);
        bad_kid: signed with that key of add_bad_key() (forged when it has no private key)."""
        spec = {"claims": claims, "remove": list(remove), "sign": sign}
        if bad_kid:
            spec["bad_kid"] = bad_kid
        if header:
            spec["header"] = header
        if access_token:
            spec["access_token"] = access_token
        if kid is not None:
            spec["kid"] = kid
        if raw_header is not None:
            spec["raw_header"] = raw_header
        if raw_payload is not None:
            spec["raw_payload"] = raw_payload
        if "sub" in claims:
            spec["sub"] = claims["sub"]
        if "email" in claims:
            spec["email"] = claims["email"]
        return self._post("mint", spec)["id_token"]

    def register_access_token(self, **spec):
        """Register an access token (token, aud, azp, sub, email, email_verified, expires_in or
        exp, profile, google_checks_expiry, ...). Returns {"access_token","sub","exp","email"}."""
        return self._post("access_token", spec)

    def register_code(self, **spec):
        """Register an authorization code (code, id_token, access_token, redirect_uri,
        code_verifier or code_challenge, client_id, client_secret). Returns the code."""
        return self._post("code", spec)["code"]

    def rotate(self, drop_old=True):
        """Publish a new key that signs from now on; drop the oldest (drop_old="all": all)."""
        return self._post("rotate", {"drop_old": drop_old})

    def fail(self, endpoint="*", mode="500", seconds=None, times=None, then=None):
        """Make endpoint ("certs", "tokeninfo", "userinfo", "token" or "*") fail: mode "500"
        (any status), "close", "stall" (seconds, then 500 or then="ok"), "bad_json",
        "redirect" (302 to where it would answer, counted by followed()), "big" (a 200
        over 64 KiB), "none"."""
        spec = {"endpoint": endpoint, "mode": str(mode)}
        if seconds is not None:
            spec["seconds"] = seconds
        if times is not None:
            spec["times"] = times
        if then is not None:
            spec["then"] = then
        return self._post("fail", spec)

    def add_bad_key(self, kind):
        """Publish a key socialauth must refuse: "e1", "e2", "e3", "even_n", "rsa1024",
        "composite_n" (refused by OpenSSL's public key check only).
        Returns its kid."""
        return self._post("bad_key", {"kind": kind})["kid"]

    def requests(self):
        """Request lines ("GET /path?query") of every call to a Google endpoint."""
        return self._call("GET", "/_fake/requests")["requests"]

    def heal(self, endpoint="*"):
        return self.fail(endpoint, "none")

    def configure(self, **settings):
        """max_age, client_id, client_secret."""
        return self._post("config", settings)

    def config(self):
        return self._post("config", {})

    def calls(self):
        return self._call("GET", "/_fake/calls")

    def followed(self):
        """How many requests came by following a "redirect" failure."""
        return self._call("GET", "/_fake/followed")["followed"]

    def connections(self):
        """How many client connections have called Google endpoints (keep-alive shows as 1)."""
        return self._call("GET", "/_fake/connections")["connections"]

    def reset_calls(self):
        return self._post("calls/reset")

    def reset(self):
        return self._post("reset")

    def keys(self):
        return self._call("GET", "/_fake/keys")

    @property
    def client_id(self):
        return self.config()["client_id"]

    @property
    def client_secret(self):
        return self.config()["client_secret"]

    # ---- life cycle ----

    @classmethod
    def start(cls, port=0, max_age=3600, keys=2, tls=None):
        """Start a fake Google process on 127.0.0.1 and return its client; tls=(cert PEM file,
        key PEM file) makes it an HTTPS server."""
        args = [sys.executable if sys.executable.startswith("/usr/bin/") else "/usr/bin/python3",
                FAKE, "--port", str(port), "--max-age", str(max_age), "--keys", str(keys)]
        if tls:
            args += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        line = proc.stdout.readline().strip()
        if not line.isdigit():
            proc.kill()
            proc.wait()
            raise RuntimeError("fake Google did not start")
        scheme = "https" if tls else "http"
        return cls("%s://127.0.0.1:%d" % (scheme, int(line)), process=proc)

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process.stdout.close()
            self.process = None
