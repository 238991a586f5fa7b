"""Crafting tokens for tests with PyJWT (Debian's python3-jwt): other people's code."""

import base64
import json
import time
import uuid

import jwt

from sa_server import SIGNING_KEY


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def craft(kind="access", user_id="u", key=SIGNING_KEY, lifetime=300, **extra):
    """A token like simplejwt's; extra claims override (None removes a claim)."""
    now = int(time.time())
    payload = {"token_type": kind, "exp": now + lifetime, "iat": now,
               "jti": uuid.uuid4().hex, "user_id": user_id}
    payload.update(extra)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key, algorithm="HS256")


def raw(header, payload, signature=b"sig"):
    """A token from literal JSON texts, for what PyJWT refuses to make (duplicate keys...)."""
    return f"{b64(header.encode())}.{b64(payload.encode())}.{b64(signature)}"


def sign_raw(header, payload, key=SIGNING_KEY):
    import hashlib
    import hmac
    signing_input = f"{b64(header.encode())}.{b64(payload.encode())}"
    sig = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(sig)}"


def payload_of(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
