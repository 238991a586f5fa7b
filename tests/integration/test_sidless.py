"""Tokens without `sid` (api.html#tokens): minted by a Django service sharing the key, by
Debian's real simplejwt and by PyJWT. Adopted on first refresh into a session whose first
token they are (single-use under rotation: grace, then reuse revokes), revoked by logout
until their exp, refused after a global logout's not-before time."""

import concurrent.futures
import json
import os
import subprocess
import threading
import time

import pytest
import requests

from sa_server import SIGNING_KEY
from tokens_util import craft, payload_of

TOOL = os.path.join(os.path.dirname(__file__), "simplejwt_tool.py")
BLACKLISTED = {"detail": "Token is blacklisted", "code": "token_not_valid"}
REFRESH = "/api/auth/token/refresh/"
LOGOUT = "/api/auth/logout/"
VERIFY = "/api/auth/token/verify/"


def simplejwt_mint(user_id, *extra):
    r = subprocess.run(["/usr/bin/python3", TOOL, SIGNING_KEY, "mint", user_id, *extra],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    pair = json.loads(r.stdout)
    assert "sid" not in payload_of(pair["refresh"]) and "sid" not in payload_of(pair["access"])
    return pair


def pyjwt_mint(user_id, **extra):
    return {"access": craft("access", user_id, **extra), "refresh": craft("refresh", user_id, lifetime=86400, **extra)}


MINTERS = [("simplejwt", simplejwt_mint), ("pyjwt", pyjwt_mint)]


def refresh(s, token):
    return s.post(REFRESH, json={"refresh": token})


def logout(s, token, scope=None):
    body = {"refresh": token}
    if scope:
        body["scope"] = scope
    return s.post(LOGOUT, json=body)


def verify(s, token):
    return s.post(VERIFY, json={"token": token})


def me(s, access):
    return s.get("/api/auth/user/", headers={"Authorization": "Bearer " + access})


def sessions_of(s, user):
    return [json.loads(line) for line in s.cli_ok("session", "list", user["pk"]).splitlines()]


@pytest.fixture(scope="module")
def gs(tmp_path_factory):
    """A server with a 1 s reuse grace, so tests can wait past it."""
    from sa_server import Server
    s = Server(tmp_path_factory.mktemp("sidless"), reuse_grace="1s")
    yield s
    s.stop()


@pytest.mark.parametrize("name,mint", MINTERS)
def test_issue_example_single_use_after_adoption(gs, name, mint):
    """Refresh, wait past reuse_grace, refresh twice more: 200, 401, 401, one revoked session."""
    u = gs.create_user("example" + name)
    token = mint(u["pk"])["refresh"]
    first = refresh(gs, token)
    assert first.status_code == 200, first.text
    successor = first.json()["refresh"]
    sid = payload_of(successor)["sid"]
    assert len(sid) == 32 and payload_of(first.json()["access"])["sid"] == sid
    assert [x["sid"] for x in sessions_of(gs, u)] == [sid]
    time.sleep(2.2)
    for _ in range(2):
        r = refresh(gs, token)
        assert (r.status_code, r.json()) == (401, BLACKLISTED)
    assert [(x["sid"], x["revoked"]) for x in sessions_of(gs, u)] == [(sid, True)]
    # the reuse ended the whole session: the successor and its access token are dead too
    assert refresh(gs, successor).json() == BLACKLISTED
    assert me(gs, first.json()["access"]).status_code == 401


@pytest.mark.parametrize("name,mint", MINTERS)
def test_adopted_token_gets_grace_then_chain_continues(gs, name, mint):
    u = gs.create_user("grace" + name)
    token = mint(u["pk"])["refresh"]
    a, b = refresh(gs, token), refresh(gs, token)
    assert a.status_code == b.status_code == 200
    assert a.json()["refresh"] == b.json()["refresh"]  # the same successor within grace
    assert len(sessions_of(gs, u)) == 1
    r = refresh(gs, a.json()["refresh"])
    assert r.status_code == 200
    # now the Django token is two generations back: reuse even within grace
    assert refresh(gs, token).json() == BLACKLISTED
    assert refresh(gs, r.json()["refresh"]).json() == BLACKLISTED


def test_concurrent_first_refreshes_make_one_session(make_server):
    s = make_server(procs=2)
    u = s.create_user("raceadopt")
    token = simplejwt_mint(u["pk"])["refresh"]

    def one(_):
        return requests.post(s.url(REFRESH), json={"refresh": token}, timeout=30)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(one, range(16)))
    assert [r.status_code for r in answers] == [200] * 16, [r.text for r in answers]
    assert len({r.json()["refresh"] for r in answers}) == 1
    assert len(sessions_of(s, u)) == 1
    assert s.cli_ok("session", "count").strip() == "1"
    assert refresh(s, answers[0].json()["refresh"]).status_code == 200


@pytest.mark.parametrize("name,mint", MINTERS)
def test_logout_then_refresh_unused_token(gs, name, mint):
    u = gs.create_user("logoutfirst" + name)
    pair = mint(u["pk"])
    r = logout(gs, pair["refresh"])
    assert r.status_code == 200 and r.json() == {"detail": "Successfully logged out."}
    for call in (refresh, logout, verify):
        r = call(gs, pair["refresh"])
        assert (r.status_code, r.json()) == (401, BLACKLISTED), call.__name__
    assert sessions_of(gs, u) == []  # remembered by jti, no session opened


@pytest.mark.parametrize("name,mint", MINTERS)
def test_logout_of_adopted_token_ends_its_session(gs, name, mint):
    u = gs.create_user("logoutadopted" + name)
    token = mint(u["pk"])["refresh"]
    successor = refresh(gs, token).json()
    other = gs.mint(u["pk"])  # another device's session stays
    assert logout(gs, token).status_code == 200
    assert refresh(gs, token).json() == BLACKLISTED
    assert refresh(gs, successor["refresh"]).json() == BLACKLISTED
    assert me(gs, successor["access"]).status_code == 401
    assert me(gs, other["access"]).status_code == 200


def test_unused_token_logout_others_keeps_itself(gs):
    u = gs.create_user("sidlessothers")
    pair = simplejwt_mint(u["pk"])
    ours = [gs.mint(u["pk"]) for _ in range(2)]
    assert logout(gs, pair["refresh"], "others").status_code == 200
    assert all(me(gs, t["access"]).status_code == 401 for t in ours)
    assert refresh(gs, pair["refresh"]).status_code == 200
    assert me(gs, pair["access"]).status_code == 200


@pytest.mark.parametrize("how", ["sidless-logout", "our-logout", "cli"])
def test_global_logout_refuses_older_sidless_tokens(gs, how):
    u = gs.create_user("global" + how.replace("-", ""))
    django = simplejwt_mint(u["pk"])
    crafted = pyjwt_mint(u["pk"])
    no_iat = pyjwt_mint(u["pk"], iat=None)
    ours = gs.mint(u["pk"])
    assert me(gs, django["access"]).status_code == 200
    assert me(gs, no_iat["access"]).status_code == 200
    if how == "sidless-logout":
        assert logout(gs, crafted["refresh"], "global").status_code == 200
    elif how == "our-logout":
        assert logout(gs, ours["refresh"], "global").status_code == 200
    else:
        gs.cli_ok("session", "revoke", "--all", u["pk"])
    for pair in (django, crafted, no_iat):
        r = me(gs, pair["access"])
        assert r.status_code == 401
        assert r.json()["messages"][0]["message"] == "Token is blacklisted"
        assert gs.get("/api/posts/", headers={"Authorization": "Bearer " + pair["access"]}).status_code == 401
        for call in (refresh, verify):
            r = call(gs, pair["refresh"])
            assert (r.status_code, r.json()) == (401, BLACKLISTED), call.__name__
        assert verify(gs, pair["access"]).json() == BLACKLISTED
    assert refresh(gs, ours["refresh"]).json() == BLACKLISTED
    # tokens issued after the logout work
    time.sleep(1.1)
    later = simplejwt_mint(u["pk"])
    assert me(gs, later["access"]).status_code == 200
    assert refresh(gs, later["refresh"]).status_code == 200


def test_integer_user_id_sidless_token_adopted(gs):
    gs.cli_ok("user", "create", "--id", "4242", "--username", "intsidless", "--email", "i@example.com")
    token = simplejwt_mint("4242", "int")["refresh"]
    r = refresh(gs, token)
    assert r.status_code == 200
    assert payload_of(r.json()["refresh"])["user_id"] == "4242"
    assert logout(gs, token).status_code == 200
    assert refresh(gs, r.json()["refresh"]).json() == BLACKLISTED


def test_sidless_without_rotation(make_server):
    s = make_server(rotate_refresh_tokens="false")
    u = s.create_user("norotate")
    token = simplejwt_mint(u["pk"])["refresh"]
    first = refresh(s, token)
    assert first.status_code == 200 and "refresh" not in first.json()
    sid = payload_of(first.json()["access"])["sid"]
    second = refresh(s, token)  # no rotation: the same session again
    assert payload_of(second.json()["access"])["sid"] == sid
    assert len(sessions_of(s, u)) == 1
    assert verify(s, token).status_code == 200
    assert logout(s, token).status_code == 200
    assert refresh(s, token).json() == BLACKLISTED
    assert me(s, second.json()["access"]).status_code == 401  # its session's access tokens too


# ---- point 8: verify answers what refresh would, and writes nothing ----

def test_verify_judges_rotation_without_writing(gs):
    u = gs.create_user("verifyrotation")
    t1 = gs.mint(u["pk"])
    t2 = refresh(gs, t1["refresh"]).json()
    assert verify(gs, t1["refresh"]).status_code == 200  # replaced, within grace
    t3 = refresh(gs, t2["refresh"]).json()
    before = gs.cli_ok("session", "list", u["pk"])
    assert verify(gs, t1["refresh"]).json() == BLACKLISTED  # two generations back
    time.sleep(2.2)
    for _ in range(3):
        assert verify(gs, t2["refresh"]).json() == BLACKLISTED  # replaced, grace over
        assert verify(gs, t3["refresh"]).status_code == 200
        assert verify(gs, t1["access"]).status_code == 200  # access tokens: session alive
    assert gs.cli_ok("session", "list", u["pk"]) == before  # nothing revoked or rotated
    assert refresh(gs, t3["refresh"]).status_code == 200
    # and refresh agrees with what verify said about t2
    assert refresh(gs, t2["refresh"]).json() == BLACKLISTED


def test_verify_sidless_tokens(gs):
    u = gs.create_user("verifysidless")
    pair = simplejwt_mint(u["pk"])
    assert verify(gs, pair["refresh"]).status_code == 200  # never used
    assert verify(gs, pair["access"]).status_code == 200
    assert sessions_of(gs, u) == []  # verify adopted nothing
    successor = refresh(gs, pair["refresh"]).json()["refresh"]
    assert verify(gs, pair["refresh"]).status_code == 200  # adopted, replaced, in grace
    time.sleep(2.2)
    assert verify(gs, pair["refresh"]).json() == BLACKLISTED
    assert verify(gs, successor).status_code == 200
    assert all(not x["revoked"] for x in sessions_of(gs, u))
    assert refresh(gs, successor).status_code == 200


def test_verify_without_rotation_accepts_every_refresh_of_a_live_session(make_server):
    s = make_server(rotate_refresh_tokens="false", reuse_grace="0s")
    u = s.create_user("verifynorotate")
    t = s.mint(u["pk"])
    refresh(s, t["refresh"])
    time.sleep(1.1)
    assert verify(s, t["refresh"]).status_code == 200
    assert logout(s, t["refresh"]).status_code == 200
    assert verify(s, t["refresh"]).json() == BLACKLISTED


# ---- remembered jtis are purged by traffic, like expired sessions ----

def jti_keys(s):
    """How many jtis the store remembers (Berkeley DB's own db_stat reads jtis.db)."""
    r = subprocess.run(["db5.3_stat", "-h", s.db_home, "-d", "jtis.db"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    line = [x for x in r.stdout.splitlines() if x.endswith("Number of unique keys in the tree")]
    return int(line[0].split()[0])


def test_remembered_jtis_are_purged_by_traffic(make_server):
    s = make_server()
    u = s.create_user("purgejtis")
    for _ in range(5):  # logged out unused: remembered as revoked until their exp
        assert logout(s, craft("refresh", u["pk"], lifetime=2)).status_code == 200
    for _ in range(3):  # adopted: remembered with their session until their exp
        assert refresh(s, craft("refresh", u["pk"], lifetime=2)).status_code == 200
    long_lived = craft("refresh", u["pk"], lifetime=3600)
    assert logout(s, long_lived).status_code == 200
    assert jti_keys(s) == 9
    time.sleep(3)
    remembered = None
    for _ in range(20):
        for _ in range(64):
            s.get("/api/health/")
        remembered = jti_keys(s)
        if remembered == 1:
            break
    assert remembered == 1
    assert refresh(s, long_lived).json() == BLACKLISTED  # the unexpired one is still refused
    assert len(sessions_of(s, u)) == 3  # the adopted tokens' sessions live on


def test_jtis_are_purged_when_the_session_purge_fails(make_server):
    """A damaged sessions' expiry index (an entry for a session that does not exist: what an
    older release's user delete could leave) makes every session purge fail; the upkeep logs
    it and still purges the remembered jtis (and checkpoints)."""
    s = make_server()
    u = s.create_user("damagedindex")
    for _ in range(4):
        assert logout(s, craft("refresh", u["pk"], lifetime=2)).status_code == 200
    assert jti_keys(s) == 4
    s.stop()
    ghost = b"ghost-session-id"
    key = (1000 ^ (1 << 63)).to_bytes(8, "big") + ghost   # expired in 1970, then its sid
    text = "VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n"
    text += " " + key.hex() + "\n " + ghost.hex() + "\nDATA=END\n"
    # (recovery first: the stopped programs' environment regions are left as they were)
    subprocess.run(["db5.3_recover", "-h", s.db_home], check=True, timeout=30)
    subprocess.run(["db5.3_load", "-h", s.db_home, "sessions_by_expiry_rounded.db"],
                   input=text.encode(), check=True, timeout=30)
    s.start()
    time.sleep(3)
    remembered = None
    for _ in range(20):
        for _ in range(64):
            s.get("/api/health/")
        remembered = jti_keys(s)
        if remembered == 0:
            break
    assert remembered == 0
    assert "upkeep: store: purge expired" in s.log(), s.log()[-2000:]


def test_jtis_and_sessions_outlive_exp_by_the_leeway(make_server):
    """Review F1: with leeway a token is accepted until exp + leeway, so its remembered jti
    (revoked or adopted) and a session ending at exp must not be purged before then, or a
    logged-out token refreshes again and an adopted one opens a second session."""
    s = make_server(leeway="60s", reuse_grace="1s")
    u = s.create_user("leeway")
    logged_out = craft("refresh", u["pk"], lifetime=2)
    assert logout(s, logged_out).status_code == 200
    adopted = craft("refresh", u["pk"], lifetime=2)
    assert refresh(s, adopted).status_code == 200
    ours = s.mint(u["pk"])["refresh"]
    assert logout(s, ours).status_code == 200
    assert jti_keys(s) == 2
    time.sleep(3.5)  # past exp, well inside the leeway
    for _ in range(64):  # traffic runs the purge
        s.get("/api/health/")
    assert s.cli_ok("purge").strip() == "0"  # and so does the admin command
    assert jti_keys(s) == 2
    assert refresh(s, logged_out).json() == BLACKLISTED
    assert verify(s, logged_out).json() == BLACKLISTED
    r = refresh(s, adopted)  # past its grace: reuse, never a second adoption
    assert r.json() == BLACKLISTED
    assert len(sessions_of(s, u)) == 2
    assert all(x["revoked"] for x in sessions_of(s, u))


def test_first_refreshes_racing_a_global_logout_leave_no_session_alive(make_server):
    """Review F2: first refreshes of tokens without sid (issued before the logout) race a
    global logout. Whatever the order, once the logout answered 200 none of the user's
    sessions is alive and no adopted successor refreshes. Bounded: 30 rounds or 40 s."""
    s = make_server(procs=4)
    deadline = time.monotonic() + 40
    rounds = adopted = 0
    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        while rounds < 30 and time.monotonic() < deadline:
            rounds += 1
            u = s.create_user(f"racer{rounds}")
            ours = s.mint(u["pk"])["refresh"]
            tokens = [craft("refresh", u["pk"], lifetime=3600) for _ in range(4)]
            barrier = threading.Barrier(5)

            def post(path, body):
                barrier.wait(10)
                return requests.post(s.url(path), json=body, timeout=30)

            gone = pool.submit(post, LOGOUT, {"refresh": ours, "scope": "global"})
            firsts = [pool.submit(post, REFRESH, {"refresh": t}) for t in tokens]
            assert gone.result().status_code == 200, gone.result().text
            for f in firsts:
                r = f.result()
                assert r.status_code in (200, 401), r.text
                if r.status_code == 200:
                    adopted += 1
                    assert refresh(s, r.json()["refresh"]).json() == BLACKLISTED
                else:
                    assert r.json() == BLACKLISTED
            alive = [x for x in sessions_of(s, u) if not x["revoked"]]
            assert alive == [], f"round {rounds}: {alive}"
    assert rounds >= 10


def dump_store(s):
    """Every database of the store, as Berkeley DB's own db_dump prints it."""
    out = {}
    for f in sorted(os.listdir(s.db_home)):
        if f.endswith(".db"):
            r = subprocess.run(["db5.3_dump", "-p", "-h", s.db_home, f], capture_output=True,
                               text=True, timeout=30)
            assert r.returncode == 0, r.stderr
            out[f] = r.stdout
    return out


NOT_FOUND = {"detail": "User not found", "code": "user_not_found"}
INACTIVE = {"detail": "User is inactive", "code": "user_inactive"}


def test_logout_of_a_user_that_cannot_act_is_refused_and_writes_nothing(make_server):
    """Review F6 (api.html#refresh and api.html#logout): logout checks the user as refresh does; a refused
    logout writes no jti and no not-before row, for tokens with and without sid."""
    s = make_server()
    sleepy = s.create_user("logoutsleepy")
    ours = s.mint(sleepy["pk"])["refresh"]
    sidless = craft("refresh", sleepy["pk"], lifetime=3600)
    s.cli_ok("user", "set-active", sleepy["pk"], "false")
    cases = [(craft("refresh", "ghost-user", lifetime=3600), NOT_FOUND),
             (craft("refresh", 987654, lifetime=3600), NOT_FOUND),
             (sidless, INACTIVE), (ours, INACTIVE)]
    for token, answer in cases:
        for scope in ("local", "others", "global"):
            before = dump_store(s)
            r = logout(s, token, scope)
            assert (r.status_code, r.json()) == (401, answer), (scope, r.text)
            assert r.headers["WWW-Authenticate"] == 'Bearer realm="api"'
            assert dump_store(s) == before, scope
            assert refresh(s, token).json() == answer
    s.cli_ok("user", "set-active", sleepy["pk"], "true")
    assert refresh(s, sidless).status_code == 200  # neither revoked nor refused by not-before
    assert refresh(s, ours).status_code == 200


def test_verify_of_a_refresh_token_checks_its_user_as_refresh_does(make_server):
    """Review F5 (api.html#verify: a refresh token answers what a refresh would)."""
    s = make_server()
    sleepy = s.create_user("verifysleepy")
    gone = s.create_user("verifygone")
    ours, gone_ours = s.mint(sleepy["pk"])["refresh"], s.mint(gone["pk"])["refresh"]
    sidless = craft("refresh", sleepy["pk"], lifetime=3600)
    s.cli_ok("user", "set-active", sleepy["pk"], "false")
    s.cli_ok("user", "delete", gone["pk"])
    for token, answer in ((ours, INACTIVE), (sidless, INACTIVE), (gone_ours, NOT_FOUND),
                          (craft("refresh", gone["pk"], lifetime=3600), NOT_FOUND),
                          (craft("refresh", "ghost-user", lifetime=3600), NOT_FOUND)):
        before = dump_store(s)
        v, r = verify(s, token), refresh(s, token)
        assert (v.status_code, v.json()) == (401, answer), v.text
        assert (r.status_code, r.json()) == (401, answer), r.text
        assert dump_store(s) == before
    s.cli_ok("user", "set-active", sleepy["pk"], "true")
    assert verify(s, ours).json() == {} and verify(s, sidless).json() == {}
