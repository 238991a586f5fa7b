#!/usr/bin/python3
"""A fake Google for socialauth's tests: JWKS, tokeninfo, userinfo and the token endpoint.

Run: /usr/bin/python3 tests/fakes/fake_google.py --port 0 [--max-age 3600] [--keys 2]
                                                 [--tls-cert PEM --tls-key PEM]
The first stdout line is the port it listens on (127.0.0.1 only); then it serves until killed.
With --tls-cert/--tls-key it speaks HTTPS with that certificate (tests make their own CA).

It has its own RSA keys (generated at start) and answers the way Google does for:
  GET  /oauth2/v3/certs                 JWKS, Cache-Control: public, max-age=N
  POST /oauth2/v3/tokeninfo             access_token=... (form body, as socialauth sends it)
  GET  /oauth2/v3/tokeninfo?access_token=... | ?id_token=...
  GET  /v1/userinfo, /oauth2/v3/userinfo (Authorization: Bearer <access token>)
  POST /token                           authorization code exchange (form body; the client
                                        authenticates in the body or with HTTP Basic)

As an OpenID provider for a real client (Next-Auth's Google provider pointed at it through
`wellKnown`), with automatic consent:
  GET  /.well-known/openid-configuration discovery; its issuer is --issuer, else http://<Host>
  GET  /o/oauth2/v2/auth                authorize: checks client_id, redirect_uri, response_type
                                        =code, then redirects at once to redirect_uri?code=&state=
                                        with a code whose exchange returns an id_token (signed
                                        with the current key; iss = the issuer, aud = client_id,
                                        nonce and at_hash when due) and an access_token that
                                        userinfo and tokeninfo accept; PKCE S256 is enforced

Tests steer it under /_fake/ on the same port (JSON in, JSON out); see google_client.py:
  POST /_fake/mint          {"claims":{...},"remove":[...],"header":{...},"sign":"rs256"|"none"|
                             "hs256_pubkey"|"bad_signature"|"unpublished","kid":..,"access_token":..}
                            -> {"id_token":...,"claims":{...},"header":{...}}
  POST /_fake/access_token  {"token":..,"aud":..,"azp":..,"expires_in":N,"sub":..,"email":..,
                             "email_verified":bool,"profile":{...},"google_checks_expiry":bool}
  POST /_fake/code          {"code":..,"id_token":..,"access_token":..,"redirect_uri":..,
                             "code_challenge":..,"client_id":..,"client_secret":..}
  POST /_fake/rotate        {"drop_old":true} -> {"kids":[...],"current":kid,"dropped":[...]}
  POST /_fake/fail          {"endpoint":"certs"|"tokeninfo"|"userinfo"|"token"|"*",
                             "mode":"500"|"close"|"stall"|"bad_json"|"redirect"|"big"|"none",
                             "seconds":N,"times":N}
                            redirect: 302 to the same path with ?followed=1, which answers
                            normally (and is counted: /_fake/followed); big: a 200 over 64 KiB
  POST /_fake/bad_key       {"kind":"e1"|"e2"|"e3"|"even_n"|"rsa1024"|"composite_n"} -> {"kid":...}:
                            publish a key that must be refused (composite_n: n = 2^2048 - 1,
                            which only OpenSSL's public key check refuses); mint {"bad_kid":kid}
                            signs with it (e = 1: the forgery, PKCS#1 v1.5 padded SHA-256 with no
                            private key)
  POST /_fake/config        {"max_age":N,"client_id":..,"client_secret":..}
  GET  /_fake/calls         {"certs":n,"tokeninfo":n,"userinfo":n,"token":n}
  GET  /_fake/followed      {"followed":n}: requests that followed a "redirect" failure
  GET  /_fake/connections   {"connections":n}: client connections that called Google endpoints
  POST /_fake/calls/reset   counters (and connections) back to zero
  GET  /_fake/requests      {"requests":["GET /oauth2/v3/certs", ...]}: request lines Google saw
  GET  /_fake/keys          {"current":kid,"published":[kid...],"public_pem":{kid:pem}}
  POST /_fake/reset         forget tokens, codes, failures and counters (keys are kept)
  POST /_fake/oidc_account  {"sub":..,"email":..,"given_name":..,"family_name":..,...}: the
                            Google account that authorize signs in (claims merged into the
                            default account) -> the account

Only the Python standard library and python3-cryptography are used.
"""

import argparse
import base64
import hashlib
import hmac
import json
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

DEFAULT_CLIENT_ID = "socialauth-test.apps.googleusercontent.com"
DEFAULT_CLIENT_SECRET = "fake-google-client-secret"
ISSUER = "https://accounts.google.com"
ENDPOINTS = ("certs", "tokeninfo", "userinfo", "token")
MAX_BODY = 1 << 20


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def compact(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def at_hash(access_token: str) -> str:
    """OIDC at_hash for RS256: left half of SHA-256 of the token's ASCII, base64url."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return b64url(digest[: len(digest) // 2])


class Key:
    def __init__(self, bits=2048):
        self.kid = secrets.token_hex(20)
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        self.public = self.private.public_key()

    def jwk(self):
        nums = self.public.public_numbers()
        return {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid,
                "n": b64url(int_bytes(nums.n)), "e": b64url(int_bytes(nums.e))}

    def public_pem(self) -> bytes:
        return self.public.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def verify(self, sig: bytes, data: bytes) -> bool:
        try:
            self.public.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
            return True
        except Exception:
            return False


class State:
    """Everything the fake knows; one lock guards it (handlers run in threads)."""

    def __init__(self, nkeys, max_age):
        self.lock = threading.Lock()
        self.keys = [Key() for _ in range(max(1, nkeys))]  # published, oldest first
        self.unpublished = Key()                            # signs "unknown kid" tokens
        self.bad_keys = []                                  # BadKey: published, to be refused
        self.max_age = max_age
        self.client_id = DEFAULT_CLIENT_ID
        self.client_secret = DEFAULT_CLIENT_SECRET
        self.reset()

    def reset(self):
        self.access_tokens = {}
        self.codes = {}
        self.failures = {}
        self.calls = {name: 0 for name in ENDPOINTS}
        self.followed = 0    # requests that came by following a "redirect" failure
        self.peers = set()   # (host, port) of connections that called a Google endpoint
        self.requests = []   # request lines of calls to Google endpoints, as a proxy logs them

    @property
    def current(self):
        return self.keys[-1]

    def key_by_kid(self, kid):
        for key in self.keys:
            if key.kid == kid:
                return key
        return None

    def take_failure(self, endpoint):
        """The failure mode for this call of endpoint, or None; counts down `times`."""
        for name in (endpoint, "*"):
            fail = self.failures.get(name)
            if not fail:
                continue
            if fail.get("times") is not None:
                if fail["times"] <= 0:
                    del self.failures[name]
                    continue
                fail["times"] -= 1
            return dict(fail)
        return None


class BadKey:
    """A key socialauth must refuse (issue 9 point 1), published next to the good ones."""

    DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")  # SHA-256, RFC 8017

    def __init__(self, kind):
        self.kid = "bad-%s-%s" % (kind, secrets.token_hex(4))
        self.kind = kind
        self.private = None
        if kind in ("e3", "rsa1024"):   # real keys that sign, but too weak to trust
            self.private = rsa.generate_private_key(public_exponent=3 if kind == "e3" else 65537,
                                                    key_size=1024 if kind == "rsa1024" else 2048)
            nums = self.private.public_key().public_numbers()
            self.n, self.e = nums.n, nums.e
        elif kind in ("e1", "e2", "even_n"):
            self.n = rsa.generate_private_key(public_exponent=65537,
                                              key_size=2048).public_key().public_numbers().n
            self.e = {"e1": 1, "e2": 2, "even_n": 65537}[kind]
            if kind == "even_n":
                self.n += 1
        elif kind == "composite_n":  # odd and 2048 bits, but divisible by 3
            self.n, self.e = 2 ** 2048 - 1, 65537
        else:
            raise ValueError("unknown bad key kind %s" % kind)

    def jwk(self):
        return {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid,
                "n": b64url(int_bytes(self.n)), "e": b64url(int_bytes(self.e))}

    def sign(self, data: bytes) -> bytes:
        if self.private is not None:
            return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256())
        # No private key: the PKCS#1 v1.5 encoding of the hash itself, which with e = 1 is its
        # own valid signature (s^1 mod n = s).
        k = (self.n.bit_length() + 7) // 8
        t = self.DIGEST_INFO + hashlib.sha256(data).digest()
        return b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t


STATE = None


def mint(spec):
    """Build an ID token from a test's spec; defaults look like a real Google ID token."""
    now = int(time.time())
    sub = str(spec.get("sub") or "1" + "".join(str(secrets.randbelow(10)) for _ in range(20)))
    with STATE.lock:
        client_id = STATE.client_id
        signer = STATE.current
        unpublished = STATE.unpublished
        published = list(STATE.keys)
    claims = {
        "iss": ISSUER,
        "azp": client_id,
        "aud": client_id,
        "sub": sub,
        "email": spec.get("email", "user%s@example.com" % sub[-6:]),
        "email_verified": True,
        "name": "Test User",
        "picture": "https://lh3.googleusercontent.com/a/fake",
        "given_name": "Test",
        "family_name": "User",
        "locale": "en",
        "iat": now,
        "exp": now + 3600,
    }
    if spec.get("access_token"):
        claims["at_hash"] = at_hash(spec["access_token"])
    claims.update(spec.get("claims") or {})
    for name in spec.get("remove") or []:
        claims.pop(name, None)

    sign = spec.get("sign", "rs256")
    key = signer
    if sign == "unpublished":
        key = unpublished
    elif spec.get("bad_kid"):
        with STATE.lock:
            key = next(k for k in STATE.bad_keys if k.kid == spec["bad_kid"])
    elif spec.get("kid_of"):
        key = next((k for k in published if k.kid == spec["kid_of"]), signer)
    header = {"alg": "RS256", "kid": key.kid, "typ": "JWT"}
    if sign == "none":
        header = {"alg": "none", "kid": key.kid, "typ": "JWT"}
    elif sign == "hs256_pubkey":
        header = {"alg": "HS256", "kid": key.kid, "typ": "JWT"}
    if "kid" in spec:
        header["kid"] = spec["kid"]
    header.update(spec.get("header") or {})
    for name in spec.get("remove_header") or []:
        header.pop(name, None)

    raw_header = spec.get("raw_header")
    raw_payload = spec.get("raw_payload")
    h = raw_header.encode() if raw_header is not None else compact(header)
    p = raw_payload.encode() if raw_payload is not None else compact(claims)
    signing_input = (b64url(h) + "." + b64url(p)).encode("ascii")
    if sign == "none":
        sig = b""
    elif sign == "hs256_pubkey":
        # The classic key-confusion attack: HMAC keyed with the RSA public key's PEM.
        sig = hmac.new(key.public_pem(), signing_input, hashlib.sha256).digest()
    else:
        sig = key.sign(signing_input)
        if sign == "bad_signature":
            sig = bytes([sig[0] ^ 1]) + sig[1:]
    token = signing_input.decode("ascii") + "." + b64url(sig)
    return {"id_token": token, "claims": claims, "header": header, "kid": key.kid}


def verify_id_token(token):
    """tokeninfo?id_token=: Google checks signature and expiry, returns claims as strings."""
    try:
        h64, p64, s64 = token.split(".")
        header = json.loads(b64url_decode(h64))
        claims = json.loads(b64url_decode(p64))
        sig = b64url_decode(s64)
    except Exception:
        return None
    if header.get("alg") != "RS256":
        return None
    with STATE.lock:
        key = STATE.key_by_kid(header.get("kid"))
    if key is None or not key.verify(sig, (h64 + "." + p64).encode("ascii")):
        return None
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
        return None
    out = {}
    for name, value in claims.items():
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, (int, float)):
            out[name] = str(value)
        else:
            out[name] = value
    out["alg"] = "RS256"
    out["kid"] = key.kid
    out["typ"] = "JWT"
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, so the client's connection reuse is exercised
    server_version = "FakeGoogle/1"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet: tests read counters, not logs
        pass

    # ---- plumbing ----

    def send(self, status, body=b"", content_type="application/json; charset=utf-8", headers=()):
        if isinstance(body, (dict, list)):
            body = compact(body)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        length = self.headers.get("Content-Length")
        if not length or not length.isdigit() or int(length) > MAX_BODY:
            return b""
        return self.rfile.read(int(length))

    def json_body(self):
        raw = self.read_body()
        if not raw:
            return {}
        return json.loads(raw)

    def fail_if_told(self, endpoint):
        """Apply a configured failure; returns True when the request has been dealt with."""
        with STATE.lock:
            STATE.calls[endpoint] += 1
            STATE.peers.add(tuple(self.client_address[:2]))
            STATE.requests.append("%s %s" % (self.command, self.path))
            if "followed=1" in self.path:
                STATE.followed += 1
                return False
            fail = STATE.take_failure(endpoint)
        if not fail:
            return False
        mode = str(fail.get("mode", "none"))
        if mode == "stall":
            time.sleep(float(fail.get("seconds", 10)))
            then = fail.get("then", "500")
            if then == "ok":
                return False
            mode = then
        if mode == "close":
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass
            return True
        if mode == "bad_json":
            self.send(200, b'{"keys": [', headers=[("Cache-Control", "public, max-age=60")])
            return True
        if mode == "redirect":   # to where it would answer: a client that follows succeeds
            target = self.path + ("&" if "?" in self.path else "?") + "followed=1"
            self.send(302, {"moved": target}, headers=[("Location", target)])
            return True
        if mode == "big":        # over socialauth's 64 KiB bound
            self.send(200, b'{"keys":[],"pad":"' + b"x" * 70000 + b'"}')
            return True
        if mode.isdigit():
            self.send(int(mode), {"error": "backend_error", "error_description": "fake failure"})
            return True
        return False

    # ---- Google ----

    def do_GET(self):
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path.rstrip("/")
        query = urllib.parse.parse_qs(parsed.query)
        if path == "/oauth2/v3/certs":
            return self.certs()
        if path in ("/oauth2/v3/tokeninfo", "/tokeninfo"):
            return self.tokeninfo(query)
        if path in ("/v1/userinfo", "/oauth2/v3/userinfo"):
            return self.userinfo()
        if path == "/_fake/calls":
            with STATE.lock:
                return self.send(200, dict(STATE.calls))
        if path == "/_fake/requests":
            with STATE.lock:
                return self.send(200, {"requests": list(STATE.requests)})
        if path == "/_fake/followed":
            with STATE.lock:
                return self.send(200, {"followed": STATE.followed})
        if path == "/_fake/connections":
            with STATE.lock:
                return self.send(200, {"connections": len(STATE.peers)})
        if path == "/_fake/keys":
            with STATE.lock:
                return self.send(200, {
                    "current": STATE.current.kid,
                    "published": [k.kid for k in STATE.keys],
                    "unpublished": STATE.unpublished.kid,
                    "public_pem": {k.kid: k.public_pem().decode() for k in
                                   STATE.keys + [STATE.unpublished]},
                    "jwks": {"keys": [k.jwk() for k in STATE.keys]},
                })
        if path == "/.well-known/openid-configuration":
            return self.send(200, self.oidc_discovery())
        if path == "/o/oauth2/v2/auth":
            return self.oidc_authorize(query)
        self.send(404, {"error": "not_found"})

    def certs(self):
        if self.fail_if_told("certs"):
            return
        with STATE.lock:
            doc = {"keys": [k.jwk() for k in STATE.bad_keys] +
                           [k.jwk() for k in reversed(STATE.keys)]}
            max_age = STATE.max_age
        self.send(200, doc, headers=[("Cache-Control", "public, max-age=%d, must-revalidate, "
                                      "no-transform" % max_age)])

    def tokeninfo(self, query, raw=None):
        if raw is not None:   # POST: the token in a form body, never in the request line
            query = urllib.parse.parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        if self.fail_if_told("tokeninfo"):
            return
        invalid = {"error": "invalid_token", "error_description": "Invalid Value"}
        if "id_token" in query:
            info = verify_id_token(query["id_token"][0])
            return self.send(200, info) if info else self.send(400, invalid)
        token = (query.get("access_token") or [""])[0]
        with STATE.lock:
            rec = STATE.access_tokens.get(token)
            rec = dict(rec) if rec else None
        if rec is None:
            return self.send(400, invalid)
        now = int(time.time())
        if rec["exp"] <= now and rec.get("google_checks_expiry", True):
            return self.send(400, invalid)
        info = {"azp": rec["azp"], "aud": rec["aud"], "sub": rec["sub"],
                "scope": rec.get("scope", "openid https://www.googleapis.com/auth/userinfo.email "
                                          "https://www.googleapis.com/auth/userinfo.profile"),
                "exp": str(rec["exp"]), "expires_in": str(max(0, rec["exp"] - now)),
                "access_type": "online"}
        if rec.get("email") is not None:
            info["email"] = rec["email"]
            info["email_verified"] = "true" if rec.get("email_verified", True) else "false"
        for name in rec.get("remove_info") or []:
            info.pop(name, None)
        info.update(rec.get("info_overrides") or {})
        self.send(200, info)

    def userinfo(self):
        if self.fail_if_told("userinfo"):
            return
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        with STATE.lock:
            rec = STATE.access_tokens.get(token)
            rec = dict(rec) if rec else None
        if rec is None or rec["exp"] <= int(time.time()):
            return self.send(401, {"error": "invalid_request",
                                   "error_description": "Invalid Credentials"},
                             headers=[("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/"')])
        profile = {"sub": rec["sub"], "name": "Test User", "given_name": "Test",
                   "family_name": "User", "picture": "https://lh3.googleusercontent.com/a/fake"}
        if rec.get("email") is not None:
            profile["email"] = rec["email"]
            profile["email_verified"] = bool(rec.get("email_verified", True))
        profile.update(rec.get("profile") or {})
        for name in rec.get("remove_profile") or []:
            profile.pop(name, None)
        self.send(200, profile)

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path.rstrip("/")
        if path in ("/token", "/oauth2/v4/token"):
            return self.token()
        if path in ("/oauth2/v3/tokeninfo", "/tokeninfo"):
            return self.tokeninfo({}, raw=self.read_body())
        if not path.startswith("/_fake/"):
            return self.send(404, {"error": "not_found"})
        try:
            spec = self.json_body()
        except ValueError as exc:
            return self.send(400, {"error": "bad control JSON: %s" % exc})
        try:
            return self.control(path[len("/_fake/"):], spec)
        except (KeyError, TypeError, ValueError) as exc:
            return self.send(400, {"error": "%s: %s" % (type(exc).__name__, exc)})

    def token(self):
        raw = self.read_body()
        if self.fail_if_told("token"):
            return
        form = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode("utf-8", "replace"),
                                                          keep_blank_values=True).items()}
        form.update(basic_client_auth(self.headers.get("Authorization", "")))
        bad = lambda status, error, desc: self.send(status, {"error": error,
                                                             "error_description": desc})
        if form.get("grant_type") != "authorization_code":
            return bad(400, "unsupported_grant_type", "Invalid grant_type: %s"
                       % form.get("grant_type", ""))
        with STATE.lock:
            rec = STATE.codes.get(form.get("code", ""))
            client_id = STATE.client_id
            client_secret = STATE.client_secret
        if rec is not None:
            client_id = rec.get("client_id", client_id)
            client_secret = rec.get("client_secret", client_secret)
        if form.get("client_id") != client_id or form.get("client_secret") != client_secret:
            return bad(401, "invalid_client", "Unauthorized")
        if rec is None or rec.get("used"):
            return bad(400, "invalid_grant", "Bad Request")
        if rec.get("redirect_uri") is not None and form.get("redirect_uri") != rec["redirect_uri"]:
            return bad(400, "redirect_uri_mismatch", "Bad Request")
        challenge = rec.get("code_challenge")
        if challenge is not None:
            verifier = form.get("code_verifier")
            if verifier is None:
                return bad(400, "invalid_request", "code_verifier is missing.")
            computed = b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())
            if not hmac.compare_digest(computed, challenge):
                return bad(400, "invalid_grant", "Invalid code verifier.")
        with STATE.lock:
            STATE.codes[form["code"]]["used"] = True
        body = {"access_token": rec.get("access_token") or "ya29." + secrets.token_urlsafe(40),
                "expires_in": 3599, "token_type": "Bearer",
                "scope": "openid https://www.googleapis.com/auth/userinfo.email "
                         "https://www.googleapis.com/auth/userinfo.profile"}
        if rec.get("id_token") is not None:
            body["id_token"] = rec["id_token"]
        self.send(200, body)

    # ---- controls ----

    def control(self, what, spec):
        if what == "mint":
            return self.send(200, mint(spec))
        if what == "access_token":
            now = int(time.time())
            with STATE.lock:
                client_id = STATE.client_id
            token = spec.get("token") or "ya29." + secrets.token_urlsafe(40)
            sub = str(spec.get("sub") or "1" + "".join(str(secrets.randbelow(10))
                                                       for _ in range(20)))
            rec = {"aud": spec.get("aud", client_id), "azp": spec.get("azp", client_id),
                   "sub": sub, "exp": int(spec.get("exp", now + int(spec.get("expires_in", 3599)))),
                   "email": spec.get("email", "user%s@example.com" % sub[-6:]),
                   "email_verified": spec.get("email_verified", True),
                   "profile": spec.get("profile") or {},
                   "google_checks_expiry": spec.get("google_checks_expiry", True),
                   "remove_info": spec.get("remove_info") or [],
                   "remove_profile": spec.get("remove_profile") or [],
                   "info_overrides": spec.get("info_overrides") or {}}
            if "scope" in spec:
                rec["scope"] = spec["scope"]
            with STATE.lock:
                STATE.access_tokens[token] = rec
            return self.send(200, {"access_token": token, "sub": sub, "exp": rec["exp"],
                                   "email": rec["email"]})
        if what == "code":
            code = spec.get("code") or "4/" + secrets.token_urlsafe(30)
            rec = {k: spec[k] for k in ("id_token", "access_token", "redirect_uri",
                                        "code_challenge", "client_id", "client_secret")
                   if k in spec}
            if spec.get("code_verifier") is not None and "code_challenge" not in rec:
                rec["code_challenge"] = b64url(hashlib.sha256(
                    spec["code_verifier"].encode("ascii")).digest())
            with STATE.lock:
                STATE.codes[code] = rec
            return self.send(200, {"code": code})
        if what == "rotate":
            # Google's pattern: the new key is published and signs from now on; the oldest key
            # is dropped (all older keys with {"drop_old":"all"}; none with false).
            new = Key()
            with STATE.lock:
                dropped = []
                STATE.keys.append(new)
                drop = spec.get("drop_old", True)
                while len(STATE.keys) > 1 and (drop == "all" or (drop and not dropped)):
                    dropped.append(STATE.keys.pop(0).kid)
                return self.send(200, {"kids": [k.kid for k in STATE.keys],
                                       "current": STATE.current.kid, "dropped": dropped})
        if what == "bad_key":
            key = BadKey(str(spec.get("kind")))
            with STATE.lock:
                STATE.bad_keys.append(key)
            return self.send(200, {"kid": key.kid, "jwk": key.jwk()})
        if what == "fail":
            endpoint = spec.get("endpoint", "*")
            if endpoint != "*" and endpoint not in ENDPOINTS:
                return self.send(400, {"error": "unknown endpoint %s" % endpoint})
            with STATE.lock:
                if str(spec.get("mode", "none")) == "none":
                    if endpoint == "*":
                        STATE.failures.clear()
                    else:
                        STATE.failures.pop(endpoint, None)
                else:
                    STATE.failures[endpoint] = {k: spec[k] for k in ("mode", "seconds", "times",
                                                                     "then") if k in spec}
            return self.send(200, {"ok": True})
        if what == "config":
            with STATE.lock:
                if "max_age" in spec:
                    STATE.max_age = int(spec["max_age"])
                if "client_id" in spec:
                    STATE.client_id = str(spec["client_id"])
                if "client_secret" in spec:
                    STATE.client_secret = str(spec["client_secret"])
                return self.send(200, {"max_age": STATE.max_age, "client_id": STATE.client_id,
                                       "client_secret": STATE.client_secret})
        if what == "calls/reset":
            with STATE.lock:
                STATE.calls = {name: 0 for name in ENDPOINTS}
                STATE.followed = 0
                STATE.peers = set()
                STATE.requests = []
            return self.send(200, {"ok": True})
        if what == "reset":
            with STATE.lock:
                STATE.reset()
            return self.send(200, {"ok": True})
        if what == "oidc_account":
            with STATE.lock:
                OIDC_ACCOUNT.update(spec)
                return self.send(200, dict(OIDC_ACCOUNT))
        return self.send(404, {"error": "unknown control %s" % what})


def basic_client_auth(header):
    """client_id/client_secret from `Authorization: Basic` (RFC 6749 2.3.1: each part
    form-urlencoded before base64), or {} when the header is absent or malformed."""
    if not header.startswith("Basic "):
        return {}
    try:
        raw = base64.b64decode(header[6:], validate=True).decode("utf-8")
    except ValueError:
        return {}
    if ":" not in raw:
        return {}
    user, password = raw.split(":", 1)
    return {"client_id": urllib.parse.unquote_plus(user),
            "client_secret": urllib.parse.unquote_plus(password)}


# The Google account that /o/oauth2/v2/auth signs in (guarded by STATE.lock; /_fake/oidc_account).
OIDC_ACCOUNT = {"sub": "104242424242424242424", "email": "ada.lovelace@example.com",
                "email_verified": True, "name": "Ada Lovelace", "given_name": "Ada",
                "family_name": "Lovelace"}
OIDC_ISSUER = None   # --issuer; None: http://<Host header>


class OidcProvider:
    """The OpenID provider half of the fake: discovery and authorize (Handler inherits it)."""

    def oidc_issuer(self):
        return OIDC_ISSUER or "http://" + self.headers.get("Host", "127.0.0.1")

    def oidc_discovery(self):
        base = "http://" + self.headers.get("Host", "127.0.0.1")
        return {
            "issuer": self.oidc_issuer(),
            "authorization_endpoint": base + "/o/oauth2/v2/auth",
            "token_endpoint": base + "/token",
            "userinfo_endpoint": base + "/v1/userinfo",
            "jwks_uri": base + "/oauth2/v3/certs",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["aud", "email", "email_verified", "exp", "family_name",
                                 "given_name", "iat", "iss", "name", "picture", "sub"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "grant_types_supported": ["authorization_code"],
        }

    def oidc_authorize(self, query):
        """Automatic consent: a valid request is answered with a redirect carrying a code."""
        arg = lambda name: (query.get(name) or [""])[0]
        with STATE.lock:
            client_id = STATE.client_id
            account = dict(OIDC_ACCOUNT)
        redirect_uri = arg("redirect_uri")
        parts = urllib.parse.urlsplit(redirect_uri)
        if arg("client_id") != client_id or parts.scheme not in ("http", "https") \
                or not parts.netloc:
            return self.send(400, {"error": "invalid_request",
                                   "error_description": "unknown client_id or bad redirect_uri"})
        answer = {"state": arg("state")} if arg("state") else {}
        method = arg("code_challenge_method") or "plain"
        if arg("response_type") != "code" or method not in ("plain", "S256"):
            answer["error"] = "unsupported_response_type"
        else:
            access_token = "ya29." + secrets.token_urlsafe(40)
            claims = {k: v for k, v in account.items() if k not in ("sub", "email")}
            claims["iss"] = self.oidc_issuer()
            if arg("nonce"):
                claims["nonce"] = arg("nonce")
            id_token = mint({"sub": account["sub"], "email": account["email"],
                             "claims": claims, "access_token": access_token})["id_token"]
            code = "4/" + secrets.token_urlsafe(30)
            rec = {"id_token": id_token, "access_token": access_token,
                   "redirect_uri": redirect_uri}
            challenge = arg("code_challenge")
            if challenge:   # the token endpoint compares S256(code_verifier) with it
                rec["code_challenge"] = challenge if method == "S256" else b64url(
                    hashlib.sha256(challenge.encode("ascii", "replace")).digest())
            profile = {k: v for k, v in account.items() if k not in ("sub", "email",
                                                                      "email_verified")}
            with STATE.lock:
                STATE.codes[code] = rec
                STATE.access_tokens[access_token] = {
                    "aud": client_id, "azp": client_id, "sub": account["sub"],
                    "exp": int(time.time()) + 3599, "email": account["email"],
                    "email_verified": account.get("email_verified", True), "profile": profile}
            answer["code"] = code
        sep = "&" if parts.query else "?"
        location = redirect_uri + sep + urllib.parse.urlencode(answer)
        self.send(302, b"", content_type="text/plain", headers=[("Location", location),
                                                               ("Cache-Control", "no-store")])


class OidcHandler(OidcProvider, Handler):
    """The handler the server runs: Google's endpoints plus the OpenID provider half."""


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main(argv=None):
    global STATE
    parser = argparse.ArgumentParser(description="fake Google for socialauth tests")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: pick one)")
    parser.add_argument("--max-age", type=int, default=3600, help="JWKS Cache-Control max-age")
    parser.add_argument("--keys", type=int, default=2, help="RSA keys published at start")
    parser.add_argument("--issuer", help="OpenID issuer of discovery and authorize's ID tokens "
                        "(default http://<Host header>)")
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate chain (PEM)")
    parser.add_argument("--tls-key", help="the certificate's private key (PEM)")
    args = parser.parse_args(argv)
    STATE = State(args.keys, args.max_age)
    global OIDC_ISSUER
    OIDC_ISSUER = args.issuer
    server = Server(("127.0.0.1", args.port), OidcHandler)
    if args.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    sys.stdout.write("%d\n" % server.server_address[1])
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
