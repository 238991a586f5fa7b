"""Several nodes (README "Several nodes"): three `socialauth node`s replicating one store,
each with its own lighttpd and endpoints, on loopback."""

import time

LOGIN = "/api/social/login/google/"
REFRESH = "/api/auth/token/refresh/"
ME = "/api/auth/user/"


def login(google, node, sub):
    token = google.mint_id_token(sub=sub, email=f"u{sub}@example.com", given_name="U",
                                 family_name=sub)
    return node.web.post(LOGIN, json={"id_token": token}, timeout=30)


def bearer(access):
    return {"Authorization": f"Bearer {access}"}


def test_sign_in_on_a_then_user_me_on_b(cluster):
    google, c = cluster
    master = c.master()
    replicas = [n for n in c.nodes if n is not master]
    # A sign-in on a replica is forwarded to the master; user-me on the other replica reads
    # at once (a miss there is asked of the master).
    for a, b in ((replicas[0], replicas[1]), (master, replicas[0]), (replicas[1], master)):
        r = login(google, a, f"ab-{a.name}-{b.name}")
        assert r.status_code == 200, r.text
        me = b.web.get(ME, headers=bearer(r.json()["access"]))
        assert me.status_code == 200, me.text
        assert me.json()["pk"] == r.json()["user"]["pk"]
        refreshed = b.web.post(REFRESH, json={"refresh": r.json()["refresh"]})
        assert refreshed.status_code == 200, refreshed.text


def test_status_shows_roles_master_and_sites(cluster):
    _, c = cluster
    master = c.master()
    for n in c.nodes:
        st = n.status()
        assert st["master"] == master.rep
        assert st["sites"].count("connected") == 2 and "disconnected" not in st["sites"]
        assert st["role"] == ("master" if n is master else "replica")
