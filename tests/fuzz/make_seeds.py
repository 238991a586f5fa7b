#!/usr/bin/python3
"""Write the seed corpora of the fuzz targets, one file per attack or edge, named after it:
tests/fuzz/corpus/<target>/<attack>. (fuzz_jwt's seeds, and the refused keys in corpus/jwks,
are kept by hand.)

Run from anywhere: /usr/bin/python3 tests/fuzz/make_seeds.py. Deterministic except for the
RSA keys in the JWKS seeds (regenerated each run; only their shape matters). The input formats
are those described at the top of each fuzz_<target>.c."""

import base64
import json
import os
import struct

from cryptography.hazmat.primitives.asymmetric import rsa

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ---- store records (store_record.h) ----

def rstr(s):
    s = s.encode() if isinstance(s, str) else s
    return struct.pack(">I", len(s)) + s


def ri64(v):
    return struct.pack(">Q", (v & 0xFFFFFFFFFFFFFFFF) ^ (1 << 63))


def user(username="alice", email="alice@example.com", first="Alice", last="Liddell", flags=1,
         joined=1700000000, login=1700000100, sub="1234567890", extra='{"sub":"1234567890"}',
         version=1):
    return (bytes([version]) + b"U" + rstr(username) + rstr(email) + rstr(first) + rstr(last) +
            bytes([flags]) + ri64(joined) + ri64(login) + rstr(sub) + rstr(extra))


def session(user_id="u1", cur="a" * 32, prev="", flags=0):
    return (b"\x01S" + rstr(user_id) + rstr(cur) + rstr(prev) + ri64(1700000000) + ri64(0) +
            ri64(1700000000) + ri64(1700600000) + ri64(1700600000) + bytes([flags]))


def keys(doc='{"keys":[]}'):
    return b"\x01K" + rstr(doc) + ri64(1700000000) + ri64(1700000300) + ri64(0)


def store_seeds():
    t = "store_record"
    uid = b"7c9e6679-7425-40de-944b-e07fc1f90ae7"
    U = lambda rec, key=uid: b"U" + bytes([len(key)]) + key + rec  # noqa: E731
    S = lambda rec, key=b"s" * 32: b"S" + bytes([len(key)]) + key + rec  # noqa: E731
    write(t, "user-valid", U(user()))
    write(t, "user-no-extra", U(user(extra="", sub="")))
    write(t, "user-truncated", U(user()[:-7]))
    write(t, "user-trailing-byte", U(user() + b"\x00"))
    write(t, "user-length-overflow", U(b"\x01U" + struct.pack(">I", 0xFFFFFFFF) + b"abc"))
    write(t, "user-length-over-bound", U(user(username="x" * 151)))  # decodes; not written again
    write(t, "user-length-over-byte-bound", U(user(username="x" * 601)))  # SA_USERNAME_MAX + 1
    write(t, "user-not-utf8", U(user(first=b"Al\xffce")))  # decodes; not written again
    write(t, "user-version-2", U(user(version=2)))  # version 2 without its password field
    write(t, "user-v2-password", U(user(version=2) + rstr("pbkdf2_sha256$600000$salt$hash=")))
    write(t, "user-v2-empty-password", U(user(version=2) + rstr("")))
    write(t, "user-nul-in-username", U(user(username="ali\x00ce")))
    write(t, "user-unknown-flags", U(user(flags=0xF9)))
    write(t, "user-negative-time", U(user(joined=-1, login=-(1 << 63))))
    write(t, "user-key-too-long", U(user(), key=b"k" * 200))
    write(t, "user-wrong-kind", U(session()))
    write(t, "session-valid", S(session()))
    write(t, "session-rotated", S(session(prev="b" * 32)))
    write(t, "session-jti-too-long", S(session(cur="a" * 33)))
    write(t, "session-revoked-flag", S(session(flags=1)))
    write(t, "session-empty", S(b""))
    write(t, "keys-valid", b"K" + keys())
    write(t, "keys-none", b"K" + keys(""))
    write(t, "keys-huge-length", b"K\x01K" + struct.pack(">I", 300 * 1024) + b"{}")
    write(t, "meta-valid", b"M\x01M")
    write(t, "meta-newer-version", b"M\x02M")
    write(t, "field-username", b"F" + user())
    write(t, "field-session-expires", b"F" + session())
    write(t, "field-cut-record", b"F" + user()[:9])


# ---- configuration (config.h) ----

def config_seeds():
    t = "config"
    base = "db_home = /nonexistent/db\nsigning_key = " + "k" * 40 + "\n"
    write(t, "load-minimal", "L" + base)
    write(t, "load-short-key", "Ldb_home = /x\nsigning_key = short\n")
    write(t, "load-key-file-missing", "Ldb_home = /x\nsigning_key_file = /nonexistent/key\n")
    write(t, "load-no-db-home", "Lsigning_key = " + "k" * 40 + "\n")
    write(t, "load-http-not-loopback", "L" + base + "google_jwks_url = http://evil.example/certs\n")
    write(t, "load-http-loopback", "L" + base + "google_jwks_url = http://127.0.0.1:9/certs\n")
    write(t, "load-star-origin-cookie", "L" + base + "cors_allowed_origins = *\ncookie_mode = on\n")
    write(t, "load-star-and-list", "L" + base + "cors_allowed_origins = * https://a.example\n")
    write(t, "load-samesite-none-insecure",
          "L" + base + "cookie_samesite = none\ncookie_secure = false\n")
    write(t, "load-zero-lifetime", "L" + base + "access_token_lifetime = 0\n")
    write(t, "unknown-key", "Pno_such_key = 1\n")
    write(t, "no-equals", "Pdb_home /x\n")
    write(t, "line-too-long", "Pjwt_audience = " + "a" * 5000 + "\n")
    write(t, "value-too-long", "Pjwt_audience = " + "a" * 300 + "\n")
    write(t, "dup-key", "Pleeway = 5\nleeway = 10\n")
    write(t, "duration-overflow", "Paccess_token_lifetime = 99999999999999999d\n")
    write(t, "duration-units", "Paccess_token_lifetime = 5m\nreuse_grace = 2h\nleeway = 1d\n")
    write(t, "duration-negative", "Pleeway = -5\n")
    write(t, "size-units", "Pmax_body = 64k\n")
    write(t, "size-overflow", "Pmax_body = 9999999999m\n")
    write(t, "bool-words", "Pcookie_mode = yes\ncookie_secure = OFF\nsync_rotation = 1\n")
    write(t, "bool-odd", "Pcookie_mode = maybe\n")
    write(t, "list-overflow", "Pgoogle_client_ids = " + ",".join(f"c{i}" for i in range(17)) + "\n")
    write(t, "list-separators", "Pcors_allowed_origins = ,, https://a.example ,\thttps://b.example,\n")
    write(t, "samesite-case", "Pcookie_samesite = sTRICT\n")
    write(t, "max-procs-range", "Pmax_procs = 257\n")
    write(t, "key-file-relative", "Psigning_key_file = ../key\ndb_home = db\n")
    write(t, "crlf-lines", "Pleeway = 5\r\njwt_issuer = iss\r\n")
    write(t, "nul-in-value", b"Pjwt_issuer = a\x00b\n")
    write(t, "comments-blank", "P# comment\n\n   \n  # another\n")
    write(t, "empty-value", "Pjwt_audience =\n")
    write(t, "helper-duration", "P10s\n")
    write(t, "helper-int-minus", "P-\n")


# ---- request bodies ----

def body_seeds():
    t = "body"
    J = "application/json"
    F = "application/x-www-form-urlencoded"

    def req(ct, body, cl=None, chunk=b"\x00"):
        body = body.encode() if isinstance(body, str) else body
        cl = str(len(body)) if cl is None else cl
        return chunk + f"{ct}\n{cl}\n".encode() + body

    write(t, "json-object", req(J, '{"access_token":"ya29.x","id_token":null}'))
    write(t, "json-array", req(J, "[1,2]"))
    write(t, "json-scalar", req(J, "42"))
    write(t, "json-dup-key", req(J, '{"refresh":"a","refresh":"b"}'))
    write(t, "json-deep-nesting", req(J, "[" * 200 + "]" * 200))
    write(t, "json-bad-utf8", req(J, b'{"a":"\xc0\xaf"}'))
    write(t, "json-lone-surrogate", req(J, '{"a":"\\ud800"}'))
    write(t, "json-trailing", req(J, '{"a":1} x'))
    write(t, "json-charset-param", req(J + "; charset=utf-8", '{"a":"b"}'))
    write(t, "form-plain", req(F, "refresh=abc&x=1"))
    write(t, "form-percent-bad", req(F, "a=%zz&b=%4"))
    write(t, "form-percent-nul", req(F, "a=x%00y"))
    write(t, "form-plus-space", req(F, "first_name=A+B%20C"))
    write(t, "form-dup-key", req(F, "a=1&a=2"))
    write(t, "form-no-equals", req(F, "flag&&=&a"))
    write(t, "form-bad-utf8", req(F, "a=%C0%AF"))
    write(t, "content-length-negative", req(J, "{}", cl="-2"))
    write(t, "content-length-hex", req(J, "{}", cl="0x2"))
    write(t, "content-length-huge", req(J, "{}", cl="99999999999999999999"))
    write(t, "content-length-over-max", req(J, "{}", cl="5000"))
    write(t, "content-length-short-body", req(J, "{}", cl="10"))
    write(t, "content-length-spaces", req(J, "{}", cl=" 2"))
    write(t, "content-type-unknown", req("text/plain", "hello"))
    write(t, "content-type-case", req("Application/JSON", "{}"))
    write(t, "content-type-prefix", req("application/jsonx", "{}"))
    write(t, "empty-body-no-type", req("", "", cl=""))
    write(t, "short-reads", req(J, '{"a":"' + "x" * 100 + '"}', chunk=b"\x03"))
    write(t, "form-direct", "Fa=1&b=%41&c")


# ---- headers ----

def header_seeds():
    t = "headers"
    GET, POST, PATCH = b"\x00", b"\x01", b"\x02"

    def h(method, auth="", cookie="", origin="", referer=""):
        return method + f"{auth}\n{cookie}\n{origin}\n{referer}".encode()

    tok = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"
    write(t, "bearer-bad-signature", h(GET, "Bearer " + tok))
    write(t, "bearer-three-parts", h(GET, "Bearer a b"))
    write(t, "bearer-only", h(GET, "Bearer"))
    write(t, "scheme-lowercase", h(GET, "bearer " + tok))
    write(t, "scheme-other", h(GET, "Basic dXNlcjpwYXNz"))
    write(t, "tabs-and-spaces", h(GET, " \tBearer\t\t" + tok + "  "))
    write(t, "cookie-get", h(GET, "", "sa-access=" + tok))
    write(t, "cookie-post-no-origin", h(POST, "", "sa-access=" + tok))
    write(t, "cookie-post-origin-allowed", h(POST, "", "sa-access=" + tok, "https://app.example.com"))
    write(t, "cookie-post-origin-suffix", h(POST, "", "sa-access=x", "https://app.example.com.evil.com"))
    write(t, "cookie-post-origin-null", h(POST, "", "sa-access=x", "null"))
    write(t, "cookie-referer-allowed", h(PATCH, "", "sa-access=x", "", "https://app.example.com/page?q"))
    write(t, "cookie-referer-evil", h(PATCH, "", "sa-access=x", "", "https://evil.example/https://app.example.com"))
    write(t, "cookie-referer-no-scheme", h(PATCH, "", "sa-access=x", "", "app.example.com"))
    write(t, "cookie-dup", h(GET, "", "sa-access=one; sa-access=two"))
    write(t, "cookie-empty-value", h(GET, "", "sa-access=; other=1"))
    write(t, "cookie-name-prefix", h(GET, "", "xsa-access=1;sa-accessx=2"))
    write(t, "cookie-too-long", h(GET, "", "sa-access=" + "a" * 9000))
    write(t, "cookie-separators-only", h(GET, "", ";;; ;"))
    write(t, "header-and-cookie", h(POST, "Bearer " + tok, "sa-access=" + tok, "https://evil.example"))


# ---- Google ----

STATUSES = [200] * 6 + [400, 401, 403, 404, 408, 429, 500, 502, 503, 302, 0]


def st(code):
    """An answer's status byte (never NUL, the separator)."""
    return bytes([next(b for b in range(1, 256) if STATUSES[b % len(STATUSES)] == code)])


def jwk(kid, bits=2048, **extra):
    n = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key().public_numbers()
    k = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
         "n": b64(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")), "e": "AQAB"}
    k.update(extra)
    return k


def google_seeds():
    t = "google"
    # JWKS documents go to fuzz_jwks (corpus/jwks, beside the hand-made refused keys).
    CLIENT = "fuzz-client.apps.googleusercontent.com"
    NOW = 1700000100
    good = jwk("k1")
    write("jwks", "jwks-valid", json.dumps({"keys": [good, jwk("k2")]}))
    write("jwks", "jwks-small-key", json.dumps({"keys": [jwk("k1", bits=1024)]}))
    write("jwks", "jwks-dup-kid", json.dumps({"keys": [good, dict(good)]}))
    write("jwks", "jwks-no-keys", json.dumps({"keys": []}))
    write("jwks", "jwks-not-object", "[]")
    write("jwks", "jwks-hs256-key", json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}, good]}))
    write("jwks", "jwks-alg-none", json.dumps({"keys": [dict(good, alg="none")]}))
    write("jwks", "jwks-n-not-b64", json.dumps({"keys": [dict(good, n="!!!")]}))
    write("jwks", "jwks-e-huge", json.dumps({"keys": [dict(good, e=b64(b"\xff" * 300))]}))
    write("jwks", "jwks-e-even", json.dumps({"keys": [dict(good, e="Ag")]}))
    write("jwks", "jwks-kid-long", json.dumps({"keys": [dict(good, kid="k" * 200)]}))
    write("jwks", "jwks-too-many-keys", json.dumps({"keys": [dict(good, kid=f"k{i}") for i in range(33)]}))
    write("jwks", "jwks-dup-member", '{"keys":[],"keys":[]}')
    write(t, "max-age-plain", "Cpublic, max-age=19477, must-revalidate, no-transform\n120")
    write(t, "max-age-no-store", "Cno-store, max-age=600\n")
    write(t, "max-age-overflow", "Cmax-age=99999999999999999999999\n-5")
    write(t, "max-age-age-bigger", "Cmax-age=60\n600")
    write(t, "max-age-quoted", 'Cmax-age="60"\n')

    def signed(header, claims, access=None):
        out = "S" + json.dumps(header) + "\n" + json.dumps(claims)
        return out + ("\n" + access if access is not None else "")

    H = {"alg": "RS256", "kid": "fuzz-kid", "typ": "JWT"}
    C = {"iss": "https://accounts.google.com", "aud": CLIENT, "azp": CLIENT, "sub": "1234567890",
         "email": "alice@example.com", "email_verified": True, "name": "Alice", "given_name": "Alice",
         "family_name": "Liddell", "picture": "https://example.com/a.png", "iat": NOW - 10,
         "exp": NOW + 3600}
    write(t, "id-token-valid", signed(H, C))
    write(t, "id-token-iss-short", signed(H, dict(C, iss="accounts.google.com")))
    write(t, "wrong-iss", signed(H, dict(C, iss="https://evil.example")))
    write(t, "wrong-aud", signed(H, dict(C, aud="other.apps.googleusercontent.com")))
    write(t, "aud-list", signed(H, dict(C, aud=[CLIENT, "x"])))
    write(t, "azp-mismatch", signed(H, dict(C, azp="evil-client")))
    write(t, "expired", signed(H, dict(C, exp=NOW - 100)))
    write(t, "exp-float", signed(H, dict(C, exp=NOW + 0.5)))
    write(t, "exp-string", signed(H, dict(C, exp=str(NOW + 100))))
    write(t, "iat-future", signed(H, dict(C, iat=NOW + 1000)))
    write(t, "missing-sub", signed(H, {k: v for k, v in C.items() if k != "sub"}))
    write(t, "sub-number", signed(H, dict(C, sub=12345)))
    write(t, "sub-too-long", signed(H, dict(C, sub="9" * 300)))
    write(t, "name-too-long-utf8", signed(H, dict(C, name="é" * 200)))
    write(t, "email-verified-string", signed(H, dict(C, email_verified="true")))
    write(t, "at-hash-bad", signed(H, dict(C, at_hash="AAAAAAAAAAAAAAAAAAAAAA"), "ya29.token"))
    write(t, "at-hash-missing-access", signed(H, dict(C, at_hash="AAAAAAAAAAAAAAAAAAAAAA")))
    write(t, "dup-key-claims", "S" + json.dumps(H) + '\n{"sub":"1","sub":"2"}')
    write(t, "alg-none-signed", signed(dict(H, alg="none"), C))
    write(t, "alg-hs256-signed", signed(dict(H, alg="HS256"), C))
    write(t, "crit-header", signed(dict(H, crit=["exp"]), C))
    write(t, "unknown-kid", signed(dict(H, kid="rotated-kid"), C))
    write(t, "kid-number", signed(dict(H, kid=7), C))
    write(t, "payload-not-object", "S" + json.dumps(H) + "\n[1]")
    write(t, "alg-none", "T" + b64(json.dumps({"alg": "none"})) + "." + b64(json.dumps(C)) + ".")
    write(t, "raw-bad-signature", "T" + b64(json.dumps(H)) + "." + b64(json.dumps(C)) + "." + b64(b"x" * 256))
    write(t, "raw-four-parts", "Ta.b.c.d")
    write(t, "raw-sig-too-long", "T" + b64(json.dumps(H)) + "." + b64("{}") + "." + "A" * 5000)

    ok200 = st(200)
    info = {"aud": CLIENT, "azp": CLIENT, "sub": "1234567890", "exp": str(NOW + 3000),
            "email": "alice@example.com", "email_verified": "true", "scope": "openid email"}
    prof = {"sub": "1234567890", "email": "alice@example.com", "email_verified": True,
            "name": "Alice", "picture": "https://example.com/a.png"}

    def answers(*pairs):
        return b"\x00".join(code + (body.encode() if isinstance(body, str) else body)
                            for code, body in pairs)

    write(t, "access-ok", b"A" + answers((ok200, json.dumps(info)), (ok200, json.dumps(prof))))
    write(t, "access-expires-in", b"A" + answers((ok200, json.dumps(dict(info, exp=None, expires_in=100))),
                                                 (ok200, json.dumps(prof))))
    write(t, "access-wrong-aud", b"A" + answers((ok200, json.dumps(dict(info, aud="x", azp="y")))))
    write(t, "access-expired", b"A" + answers((ok200, json.dumps(dict(info, exp=str(NOW - 100))))))
    write(t, "access-sub-mismatch", b"A" + answers((ok200, json.dumps(info)),
                                                   (ok200, json.dumps(dict(prof, sub="999")))))
    write(t, "access-tokeninfo-400", b"A" + answers((st(400), '{"error":"invalid_token"}')))
    write(t, "access-tokeninfo-500", b"A" + answers((st(500), "<html>oops</html>")))
    write(t, "access-tokeninfo-redirect", b"A" + answers((st(302), "")))
    write(t, "access-tokeninfo-no-answer", b"A" + answers((st(0), "")))
    write(t, "access-tokeninfo-not-json", b"A" + answers((ok200, "not json")))
    write(t, "access-userinfo-429", b"A" + answers((ok200, json.dumps(info)), (st(429), "{}")))
    write(t, "access-userinfo-no-sub", b"A" + answers((ok200, json.dumps(info)), (ok200, '{"email":"a@b"}')))
    write(t, "code-id-token-garbage", b"X" + answers((ok200, json.dumps({"id_token": "a.b.c", "access_token": "ya29.x"}))))
    write(t, "code-access-only", b"X" + answers((ok200, json.dumps({"access_token": "ya29.x"})),
                                                (ok200, json.dumps(info)), (ok200, json.dumps(prof))))
    write(t, "code-invalid-client", b"X" + answers((st(401), '{"error":"invalid_client"}')))
    write(t, "code-invalid-grant", b"X" + answers((st(400), '{"error":"invalid_grant"}')))
    write(t, "code-no-token", b"X" + answers((ok200, "{}")))
    tokentext = json.dumps(H) + "\n" + json.dumps(C)
    write(t, "refetch-ok", b"F" + tokentext.encode() + b"\x00" + answers((ok200, "max-age=600\n@jwks")))
    write(t, "refetch-500", b"F" + tokentext.encode() + b"\x00" + answers((st(500), "\nerror")))
    write(t, "refetch-malformed", b"F" + tokentext.encode() + b"\x00" + answers((ok200, "max-age=60\n{\"keys\":")))
    write(t, "refetch-lacks-kid", b"F" + tokentext.encode() + b"\x00" +
          answers((ok200, "max-age=60\n" + json.dumps({"keys": [good]}))))
    write(t, "refetch-no-answer", b"F" + tokentext.encode())


if __name__ == "__main__":
    store_seeds()
    config_seeds()
    body_seeds()
    header_seeds()
    google_seeds()
