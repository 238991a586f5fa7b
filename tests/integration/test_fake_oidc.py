"""The fake Google as an OpenID provider (what `make e2e` points Next-Auth at), and socialauth
accepting the ID tokens it issues: the authorization-code flow a real client runs, without a
browser."""

import base64
import hashlib
import json
import secrets
import urllib.parse

import jwt
import requests

REDIRECT = "http://127.0.0.1:3000/api/auth/callback/google"


def authorize(g, **params):
    query = {"client_id": g.client_id, "redirect_uri": REDIRECT, "response_type": "code",
             "scope": "openid email profile", "state": "st4te"}
    query.update(params)
    return requests.get(g.base_url + "/o/oauth2/v2/auth", params=query, allow_redirects=False,
                        timeout=10)


def code_flow(g, nonce=None):
    """authorize (PKCE S256) then the token endpoint with HTTP Basic client authentication."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    extra = {"nonce": nonce} if nonce else {}
    r = authorize(g, code_challenge=challenge.decode(), code_challenge_method="S256", **extra)
    assert r.status_code == 302
    location = urllib.parse.urlsplit(r.headers["Location"])
    answer = dict(urllib.parse.parse_qsl(location.query))
    assert location.path == "/api/auth/callback/google" and answer["state"] == "st4te"
    return requests.post(g.base_url + "/token", auth=(g.client_id, g.client_secret), timeout=10,
                         data={"grant_type": "authorization_code", "code": answer["code"],
                               "redirect_uri": REDIRECT, "code_verifier": verifier})


def test_discovery_names_the_fake_endpoints(fake_google):
    doc = requests.get(fake_google.base_url + "/.well-known/openid-configuration", timeout=10).json()
    assert doc["issuer"] == fake_google.base_url
    assert doc["jwks_uri"] == fake_google.jwks_url
    assert doc["token_endpoint"] == fake_google.token_url
    assert doc["authorization_endpoint"] == fake_google.base_url + "/o/oauth2/v2/auth"
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]


def test_authorize_refuses_an_unknown_client_and_a_bad_redirect(fake_google):
    assert authorize(fake_google, client_id="someone-else").status_code == 400
    assert authorize(fake_google, redirect_uri="not a url").status_code == 400
    r = authorize(fake_google, response_type="token")
    assert r.status_code == 302 and "error=unsupported_response_type" in r.headers["Location"]


def test_code_flow_issues_a_signed_id_token_for_the_configured_account(fake_google):
    r = code_flow(fake_google, nonce="n0nce")
    assert r.status_code == 200, r.text
    tokens = r.json()
    jwks = jwt.PyJWKClient(fake_google.jwks_url)
    claims = jwt.decode(tokens["id_token"], jwks.get_signing_key_from_jwt(tokens["id_token"]).key,
                        algorithms=["RS256"], audience=fake_google.client_id,
                        issuer=fake_google.base_url)
    assert claims["sub"] == "104242424242424242424" and claims["nonce"] == "n0nce"
    assert claims["given_name"] == "Ada" and claims["email"] == "ada.lovelace@example.com"
    me = requests.get(fake_google.userinfo_url, timeout=10,
                      headers={"Authorization": "Bearer " + tokens["access_token"]}).json()
    assert me["sub"] == claims["sub"] and me["family_name"] == "Lovelace"


def test_token_endpoint_checks_pkce_and_the_basic_credentials(fake_google):
    r = authorize(fake_google, code_challenge="x" * 43, code_challenge_method="S256")
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.headers["Location"]).query))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": secrets.token_urlsafe(48)}
    wrong = requests.post(fake_google.token_url, auth=(fake_google.client_id, "nope"), data=form,
                          timeout=10)
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    bad = requests.post(fake_google.token_url, data=form, timeout=10,
                        auth=(fake_google.client_id, fake_google.client_secret))
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"


def test_socialauth_signs_in_the_fake_providers_account_as_one_user(fake_google, make_server):
    settings = fake_google.settings(redirect_uri=REDIRECT)
    server = make_server(google_issuers=fake_google.base_url, **settings)
    pks = []
    for _ in range(2):
        tokens = code_flow(fake_google).json()
        r = server.post("/api/social/login/google/", json={"id_token": tokens["id_token"],
                                                           "access_token": tokens["access_token"]})
        assert r.status_code == 200, r.text
        pks.append(r.json()["user"]["pk"])
    assert pks[0] == pks[1]
    assert r.json()["user"]["first_name"] == "Ada"


def test_socialauth_refuses_the_fake_issuer_unless_configured(fake_google, make_server):
    server = make_server(**fake_google.settings(redirect_uri=REDIRECT))
    tokens = code_flow(fake_google).json()
    r = server.post("/api/social/login/google/", json={"id_token": tokens["id_token"]})
    assert r.status_code == 400 and json.loads(r.text)["code"] == "wrong_issuer"
