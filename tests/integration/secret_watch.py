"""Every secret the test suite handles, and a scan of every server log for them (issue 15:
no token, key or client secret ever reaches a log).

conftest.py's session fixture records, through requests (every test's HTTP goes through
requests.Session.request), the tokens sent and received: access and refresh tokens, Google ID
and access tokens, codes, code verifiers, cookie values; sa_server.Server registers each
server's settings secrets (signing key, client secret) and its lighttpd error log. At the end
of the session every registered log is scanned: a secret, or a distinctive part of one (a JWT's
payload or signature), in any log fails the run."""

import re

# Request or answer fields that carry a secret. In answers, "code" is a machine error code
# (api.html#google-login), not Google's authorization code: only requests' "code" is a secret.
SECRET_FIELDS = {"access", "refresh", "id_token", "access_token", "code_verifier",
                 "client_secret", "signing_key", "token", "google_client_secret"}
REQUEST_SECRET_FIELDS = SECRET_FIELDS | {"code"}
MIN_LEN = 16               # shorter values are test words ("x", "bad"), not secrets
RUN = re.compile(r"[A-Za-z0-9_\-]{%d,}" % MIN_LEN)

secrets = set()            # whole secrets
pieces = set()             # distinctive parts of JWTs (payload, signature)
logs = set()               # paths of server logs to scan


def add(value):
    if not isinstance(value, str) or len(value) < MIN_LEN:
        return
    secrets.add(value)
    parts = value.split(".")
    if len(parts) == 3:
        pieces.update(p for p in parts[1:] if len(p) >= MIN_LEN)


def collect(obj, fields=SECRET_FIELDS):
    """Record the secret fields of a JSON-like request or answer."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in fields:
                add(v)
            collect(v, fields)
    elif isinstance(obj, list):
        for v in obj:
            collect(v, fields)


def record_exchange(kw, response):
    collect(kw.get("json"), REQUEST_SECRET_FIELDS)
    if isinstance(kw.get("data"), dict):
        collect(kw["data"], REQUEST_SECRET_FIELDS)
    auth = (kw.get("headers") or {}).get("Authorization", "")
    if isinstance(auth, bytes):   # test_text.py sends header bytes that are not UTF-8
        auth = auth.decode("utf-8", "replace")
    if auth.startswith("Bearer "):
        add(auth[7:])
    for v in (kw.get("cookies") or {}).values():
        add(v)
    for v in response.cookies.values():
        add(v)
    if response.headers.get("Content-Type", "").startswith("application/json"):
        try:
            collect(response.json())
        except ValueError:
            pass


def leaks(paths=None):
    """[(log path, what leaked)] for every secret found in a log."""
    found = []
    for path in sorted(paths if paths is not None else logs):
        try:
            with open(path, errors="replace") as f:
                text = f.read()
        except OSError:
            continue
        runs = set(RUN.findall(text))
        for piece in (runs & pieces) | (runs & secrets):
            found.append((path, piece[:12] + "..."))
        for s in secrets:
            if "." not in s and s not in runs and s in text:  # inside a longer run of text
                found.append((path, s[:12] + "..."))
    return found
