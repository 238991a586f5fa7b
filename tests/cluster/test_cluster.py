"""Several nodes (README "Several nodes"): three `socialauth node`s replicating one store,
each with its own lighttpd and endpoints, on loopback."""

import os
import signal
import time

LOGIN = "/api/social/login/google/"
REFRESH = "/api/auth/token/refresh/"
ME = "/api/auth/user/"
UNAVAILABLE = {"detail": "Service temporarily unavailable.", "code": "service_unavailable"}


def post(node, path, method="post", headers=None, **kw):
    """One request on a connection of its own: while nodes are killed and restarted, a pooled
    keep-alive connection may be one the server side already dropped."""
    import requests
    r = requests.request(method, node.web.url(path), timeout=30,
                         headers={"Connection": "close", **(headers or {})}, **kw)
    assert r.status_code != 500, r.text
    return r


def login(google, node, sub):
    token = google.mint_id_token(sub=sub, email=f"u{sub}@example.com", given_name="U",
                                 family_name=sub)
    return post(node, LOGIN, json={"id_token": token})


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


def test_read_on_a_lagging_replica_waits_for_the_master(netns_cluster):
    """Read-your-writes when a replica is behind. A user signs in on the master while a
    replica's link is down: user-me through that replica answers 401 after waiting at most
    rep_read_wait (5 s) for the master's commit position, which it cannot reach. Then, with
    the link down only for the sign-in, user-me through the replica right after the link is
    back, before the replica's own copy has the user, answers 200: its node waited for the
    master's position (txn_applied on its commit token) and read again."""
    google, c = netns_cluster
    master = c.master()
    lag = next(n for n in c.nodes if n is not master)
    c.link(lag, False)
    r = login(google, master, "lag-cut")
    assert r.status_code == 200, r.text   # the master and the other replica: a quorum
    t = time.time()
    me = lag.web.get(ME, headers=bearer(r.json()["access"]))
    waited = time.time() - t
    assert me.status_code == 401, me.text
    assert 4.5 < waited < 9, waited   # bounded by rep_read_wait
    c.link(lag, True)
    deadline = time.time() + 60       # it rejoins (after being cut off for > 2 s: bounded)
    while r.json()["user"]["pk"] not in {u["pk"] for u in users_of(lag)}:
        assert time.time() < deadline, "the replica did not catch up"
        time.sleep(0.2)
    lagged = 0
    for attempt in range(5):
        c.link(lag, False)
        r = login(google, master, f"lag-{attempt}")
        assert r.status_code == 200, r.text
        pk, access = r.json()["user"]["pk"], r.json()["access"]
        c.link(lag, True)
        missing = pk not in {u["pk"] for u in users_of(lag)}   # its own copy, no waiting
        me = lag.web.get(ME, headers=bearer(access))
        assert me.status_code == 200, me.text
        assert me.json()["pk"] == pk
        lagged += missing
        if lagged:
            break
    assert lagged, "the replica was never behind: the test showed nothing"


def status_time(text):
    """A `cluster status` time (UTC, whole seconds) as unix seconds."""
    import calendar
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def test_status_shows_roles_master_and_sites(cluster):
    """`socialauth cluster status` on each node: its role, the master, the sites, its lag;
    after the master is killed, the survivors name the new master and the failover time."""
    _, c = cluster
    master = c.master()
    for n in c.nodes:
        st = n.status()
        assert st["master"] == master.rep
        assert st["sites"].count("connected") == 2 and "disconnected" not in st["sites"]
        assert st["role"] == ("master" if n is master else "replica")
        assert st["site"] == n.rep
        if n is master:
            assert st["lag"] == "0"
        else:
            assert st["lag"].endswith(" bytes") or st["lag"].endswith(" log files"), st
    killed_at = int(time.time())
    t_kill = time.time()
    master.kill()
    survivors = [n for n in c.nodes if n is not master]
    new = c.wait_roles(30, survivors)
    elected = time.time() - t_kill
    google = cluster[0]
    tries = []
    while not tries or tries[-1] != 200:
        tries.append(login(google, survivors[0], "after-kill").status_code)
        assert time.time() - t_kill < 30, tries
    first_write = time.time() - t_kill
    print(f"\nmaster killed: a new master {elected:.2f} s after the kill (seen by polling "
          f"cluster status), the first sign-in answered {first_write:.2f} s after it "
          f"(answers {tries}, on the {'new master' if survivors[0] is new else 'replica'})")
    for n in survivors:
        st = n.status()
        assert st["master"] == new.rep and new is not master
        assert st["role"] == ("master" if n is new else "replica")
        assert killed_at <= status_time(st["last_failover"]) <= time.time() + 1, st
        assert master.rep + " disconnected" in st["sites"], st


def users_of(node):
    """Every user the node's own store holds (`socialauth user list` reads locally)."""
    import json
    r = node.web.cli("user", "list")
    assert r.returncode == 0, r.stderr
    users = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    for u in users:
        u.setdefault("pk", u.get("id"))
    return users


def verify_ok(node):
    """`socialauth verify` through the node: its own copy's records and indexes agree."""
    r = node.web.cli("verify")
    assert r.returncode == 0, r.stdout + r.stderr


def test_master_killed_whole_and_restarted(cluster):
    """Mixed traffic on every node (first sign-ins, sign-ins again, rotations, logouts, user
    edits) while the master node is SIGKILLed (node, lighttpd, programs) and later
    restarted: nothing answered is lost, nothing is duplicated, the nodes converge."""
    import random
    google, c = cluster
    rnd = random.Random(16)
    victim = c.master()
    alive = list(c.nodes)
    clients = {}        # sub -> {"refresh", "access", "pk", "names", "pending"}
    answered = set()    # subs whose login answered 200
    gone = set()        # subs whose session a logout ended (200), or may have (503)
    counts = {"login": 0, "again": 0, "refresh": 0, "logout": 0, "edit": 0, "503": 0}
    retried_after_503 = 0
    t0 = time.time()
    killed_at = restarted_at = None
    failover = None
    n = 0
    while time.time() - t0 < 25:
        now = time.time() - t0
        if killed_at is None and now > 4:
            victim.kill()
            alive = [x for x in c.nodes if x is not victim]
            killed_at = time.time()
        if killed_at and restarted_at is None and now > 15:
            victim.start_node()
            victim.start_web()
            alive = list(c.nodes)
            restarted_at = time.time()
        node = rnd.choice(alive)
        n += 1
        dice = rnd.random()
        if not clients or dice < 0.3:
            sub = f"k{n}"
            r = login(google, node, sub)
            assert r.status_code in (200, 503), r.text
            if r.status_code == 200:
                counts["login"] += 1
                answered.add(sub)
                clients[sub] = {"refresh": r.json()["refresh"], "access": r.json()["access"],
                                "pk": r.json()["user"]["pk"], "names": {"U"}}
                if killed_at and failover is None and node is not victim:
                    failover = time.time() - killed_at
            else:
                counts["503"] += 1
            continue
        sub = rnd.choice(sorted(clients))
        cl = clients[sub]
        if dice < 0.4:      # the same user signs in again: a second session, same user
            r = login(google, node, sub)
            assert r.status_code in (200, 503), r.text
            if r.status_code == 200:
                assert r.json()["user"]["pk"] == cl["pk"]
                counts["again"] += 1
            else:
                counts["503"] += 1
        elif dice < 0.5:    # logout: its refresh token is then revoked, or may be (503)
            r = post(node, "/api/auth/logout/", json={"refresh": cl["refresh"]})
            assert r.status_code in (200, 503), r.text
            counts["logout" if r.status_code == 200 else "503"] += 1
            gone.add(sub)
            del clients[sub]
        elif dice < 0.65:   # a user edit
            name = f"e{n}"
            r = post(node, ME, method="patch", json={"first_name": name},
                     headers=bearer(cl["access"]))
            assert r.status_code in (200, 503), r.text
            if r.status_code == 200:
                assert r.json()["first_name"] == name
                counts["edit"] += 1
                cl["names"] = {name}           # answered: it must survive
            else:
                counts["503"] += 1
                cl["names"].add(name)          # not durable: either may survive
        else:
            r = post(node, REFRESH, json={"refresh": cl["refresh"]})
            # A retry after a 503 gets the successor (grace) or rotates: never a 401.
            assert r.status_code in (200, 503), (r.status_code, r.text, cl.get("pending"))
            if r.status_code == 200:
                counts["refresh"] += 1
                retried_after_503 += bool(cl.pop("pending", False))
                cl["refresh"] = r.json()["refresh"]
                cl["access"] = r.json()["access"]
            else:
                counts["503"] += 1
                cl["pending"] = True
    assert killed_at and restarted_at and failover is not None, counts
    assert all(counts[k] for k in ("login", "again", "refresh", "logout", "edit")), counts
    c.wait_roles(60)
    # Converged: every node holds every answered user, once.
    deadline = time.time() + 30
    while True:
        lists = [users_of(x) for x in c.nodes]
        if all(len(l) == len(lists[0]) for l in lists) or time.time() > deadline:
            break
        time.sleep(0.5)
    for l in lists:
        pks = {u["pk"] for u in l}
        for sub in answered:
            assert (clients.get(sub) or {"pk": None})["pk"] in pks or sub in gone, sub
        for field in ("pk", "username", "email"):
            values = [u[field] for u in l]
            assert len(values) == len(set(values)), field
    assert [sorted(u["pk"] for u in l) for l in lists[1:]] == [sorted(u["pk"] for u in lists[0])] * 2
    assert [sorted((u["pk"], u["first_name"]) for u in l) for l in lists[1:]] == \
        [sorted((u["pk"], u["first_name"]) for u in lists[0])] * 2
    for x in c.nodes:
        verify_ok(x)
    # Every client's last answered refresh token works on any node, and its user-me shows its
    # last answered edit.
    for sub, cl in clients.items():
        node = rnd.choice(c.nodes)
        r = post(node, REFRESH, json={"refresh": cl["refresh"]})
        assert r.status_code == 200, (sub, r.text)
        me = node.web.get(ME, headers=bearer(r.json()["access"]))
        assert me.status_code == 200 and me.json()["first_name"] in cl["names"], (sub, me.text)
    print(f"\nfailover: first answered sign-in {failover:.2f} s after the kill; {counts}, "
          f"retried after 503: {retried_after_503}")


def test_partitioned_master_answers_503_never_a_lost_200(netns_cluster):
    """The master's replication link goes down while its web side stays reachable: its
    writes answer 503 (no quorum), the majority elects a master and answers 200; after the
    link is back nothing that was answered 200 anywhere is missing, and a client whose
    rotation got a 503 retries with its old refresh token and gets 200."""
    google, c = netns_cluster
    old = c.master()
    others = [n for n in c.nodes if n is not old]
    clients = {}
    for i, node in enumerate(c.nodes * 2):
        r = login(google, node, f"p{i}")
        assert r.status_code == 200, r.text
        clients[f"p{i}"] = {"refresh": r.json()["refresh"], "pk": r.json()["user"]["pk"]}
    answered = set(clients)
    minority = {"200": 0, "503": 0}
    t_cut = time.time()
    c.link(old, False)
    c.wait_roles(30, others)   # one of the majority is master; bounded
    election = time.time() - t_cut
    failover = None
    n = 0
    while time.time() - t_cut < election + 10:
        n += 1
        # The minority side: a first sign-in and a rotation.
        sub = f"m{n}"
        r = login(google, old, sub)
        assert r.status_code in (200, 503), r.text
        minority[str(r.status_code)] += 1
        if r.status_code == 200:   # must survive the partition: checked below
            answered.add(sub)
            clients[sub] = {"refresh": r.json()["refresh"], "pk": r.json()["user"]["pk"]}
        victim = clients[f"p{n % 6}"]
        r = post(old, REFRESH, json={"refresh": victim["refresh"]})
        assert r.status_code in (200, 503), r.text
        minority[str(r.status_code)] += 1
        if r.status_code == 200:
            victim["refresh"] = r.json()["refresh"]
        else:
            victim["pending"] = True
        # The majority side.
        node = others[n % 2]
        r = login(google, node, f"M{n}")
        assert r.status_code in (200, 503), r.text
        if r.status_code == 200:
            answered.add(f"M{n}")
            clients[f"M{n}"] = {"refresh": r.json()["refresh"], "pk": r.json()["user"]["pk"]}
            if failover is None:
                failover = time.time() - t_cut
    assert minority["503"] > 0, minority
    assert failover is not None, "the majority never answered a sign-in"
    # Retries of rotations that got 503, on the majority, within reuse_grace (30 s): the
    # first rotates (the minority's commit was not durable), and a second retry of the same
    # old token, on the other majority node, gets the byte-identical successor of the one
    # that did commit.
    retried = 0
    for cl in clients.values():
        if cl.pop("pending", False):
            old_token = cl["refresh"]
            r = post(others[0], REFRESH, json={"refresh": old_token})
            assert r.status_code == 200, r.text
            again = post(others[1], REFRESH, json={"refresh": old_token})
            assert again.status_code == 200, again.text
            assert again.json()["refresh"] == r.json()["refresh"]
            cl["refresh"] = r.json()["refresh"]
            retried += 1
    assert retried, "no rotation got a 503 on the minority side"
    c.link(old, True)
    c.wait_roles(60)
    deadline = time.time() + 30
    while True:
        lists = [users_of(x) for x in c.nodes]
        pks = [sorted(u["pk"] for u in l) for l in lists]
        if pks[0] == pks[1] == pks[2] or time.time() > deadline:
            break
        time.sleep(0.5)
    assert pks[0] == pks[1] == pks[2]
    for x in c.nodes:
        verify_ok(x)
    for sub in answered:
        assert clients[sub]["pk"] in pks[0], sub
    for sub, cl in clients.items():
        r = post(c.nodes[hash(sub) % 3], REFRESH, json={"refresh": cl["refresh"]})
        assert r.status_code == 200, (sub, r.text)
    print(f"\npartition: a majority node master {election:.2f} s after the cut; "
          f"minority answers {minority}")


def test_node_down_gives_503_until_it_is_back(cluster):
    """A node's programs answer 503 while its `socialauth node` is down (killed), and 200
    again once it was restarted (with recovery) and rejoined."""
    google, c = cluster
    master = c.master()
    replica = next(n for n in c.nodes if n is not master)
    r = login(google, replica, "down-1")
    assert r.status_code == 200, r.text
    access = r.json()["access"]
    os.killpg(replica.node.pid, signal.SIGKILL)
    replica.node.wait()
    me = replica.web.get(ME, headers=bearer(access))
    assert me.status_code == 503 and me.json() == UNAVAILABLE, me.text
    r = login(google, replica, "down-2")
    assert r.status_code == 503, r.text
    assert r.json() == UNAVAILABLE
    assert login(google, master, "down-3").status_code == 200   # the others go on
    replica.start_node()
    deadline = time.time() + 60
    while replica.web.get(ME, headers=bearer(access)).status_code != 200:
        assert time.time() < deadline, "the node did not come back"
        time.sleep(0.2)
    assert login(google, replica, "down-2").status_code == 200


def test_forwarded_write_cost(cluster):
    """Measures (prints; asserts only correctness) a sign-in of an existing user, one write,
    answered by the master's own web side and by a replica's, whose node forwards it."""
    import statistics
    google, c = cluster
    master = c.master()
    replica = next(n for n in c.nodes if n is not master)
    token = google.mint_id_token(sub="cost", email="cost@example.com")
    assert master.web.post(LOGIN, json={"id_token": token}).status_code == 200
    times = {}
    for name, node in (("master", master), ("replica", replica)) * 2:
        samples = times.setdefault(name, [])
        for _ in range(20):
            t = time.perf_counter()
            r = node.web.post(LOGIN, json={"id_token": token})
            samples.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
    # A rotation (token-refresh: one write, the session's record) on each side.
    refresh = {"master": master.web.post(LOGIN, json={"id_token": token}).json()["refresh"],
               "replica": replica.web.post(LOGIN, json={"id_token": token}).json()["refresh"]}
    for name, node in (("master", master), ("replica", replica)) * 2:
        samples = times.setdefault("rotate-" + name, [])
        for _ in range(20):
            t = time.perf_counter()
            r = node.web.post(REFRESH, json={"refresh": refresh[name]})
            samples.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
            refresh[name] = r.json()["refresh"]
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    print(f"\nmedians of 40: sign-in of an existing user on the master {med['master']:.1f} ms, "
          f"on a replica (forwarded) {med['replica']:.1f} ms; token rotation on the master "
          f"{med['rotate-master']:.1f} ms, on a replica (forwarded) "
          f"{med['rotate-replica']:.1f} ms")


def test_sidless_tokens_through_the_nodes(cluster):
    """Issue 8's store calls work through the node backend: a refresh token without sid
    (minted by a Django service sharing the key) is adopted on one replica and gets its
    grace answer on another; a global logout there refuses older sid-less tokens everywhere,
    a sid-less logout revokes an unused token everywhere."""
    from tokens_util import craft
    google, c = cluster
    master = c.master()
    a, b = [n for n in c.nodes if n is not master]
    r = login(google, a, "sidless")
    assert r.status_code == 200, r.text
    pk = r.json()["user"]["pk"]
    old = craft("refresh", pk, lifetime=86400)
    first = b.web.post(REFRESH, json={"refresh": old})
    assert first.status_code == 200, first.text
    again = a.web.post(REFRESH, json={"refresh": old})
    assert again.status_code == 200, again.text   # grace: the same successor
    assert again.json()["refresh"] == first.json()["refresh"]
    unused = craft("refresh", pk, lifetime=86400)
    assert a.web.post("/api/auth/logout/", json={"refresh": unused}).status_code == 200
    assert b.web.post(REFRESH, json={"refresh": unused}).status_code == 401
    access = craft("access", pk)
    assert master.web.get(ME, headers=bearer(access)).status_code == 200
    time.sleep(1.1)   # not-before is in whole seconds
    assert b.web.post("/api/auth/logout/", json={"refresh": first.json()["refresh"],
                                                  "scope": "global"}).status_code == 200
    for n in c.nodes:
        deadline = time.time() + 10   # a replica applies the logout within milliseconds
        while n.web.get(ME, headers=bearer(access)).status_code != 401:
            assert time.time() < deadline, n.name
            time.sleep(0.1)


def test_import_django_and_init_through_a_replica(cluster, tmp_path):
    """`socialauth import-django` through a replica's node: each user is imported on the
    master (forwarded), the log flushed there, and every node then holds them. `socialauth
    init` through a node reports username case variants from the node's copy (none here)."""
    import subprocess
    integration = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration")
    work = tmp_path / "django"
    work.mkdir()
    dump = tmp_path / "custom.json"
    subprocess.run(["/usr/bin/python3", os.path.join(integration, "django_dump.py"), str(work),
                    "custom", str(dump)], check=True, timeout=120, cwd=str(work))
    _, c = cluster
    master = c.master()
    replica = next(n for n in c.nodes if n is not master)
    r = replica.web.cli("import-django", str(dump))
    assert r.returncode == 0, r.stderr
    assert "4 users (4 new, 0 updated), 2 Google links, 0 skipped" in r.stderr
    names = {"alice", "bob", "carol", "dave.k"}
    for n in c.nodes:
        deadline = time.time() + 10
        while {u["username"] for u in users_of(n)} != names:
            assert time.time() < deadline, n.name
            time.sleep(0.2)
        verify_ok(n)
    r = replica.web.cli("init")
    assert r.returncode == 0, r.stderr
    assert "differ only in case" not in r.stderr
