"""`make cluster` (bin/socialauth-cluster): three nodes, each one network namespace holding its
`socialauth node`, its lighttpd and the endpoint programs, behind HAProxy on 127.0.0.1:PORT;
everything stopped and removed on SIGTERM."""

import os
import signal
import subprocess
import time

import requests

from sa_server import ROOT, free_port


def netns_of(pid):
    return os.readlink(f"/proc/{pid}/ns/net")


def children(pid):
    kids = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as f:
            kids += [int(k) for k in f.read().split()]
    return kids


def node_pid(conf):
    for p in os.listdir("/proc"):
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except (OSError, ValueError):
            continue
        if conf.encode() in args and b"node" in args:
            return int(p)
    return None


def test_make_cluster_runs_each_node_in_its_namespace(tmp_path):
    port = free_port()
    conf = tmp_path / "socialauth.conf"
    with open(os.open(conf, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write(f"db_home = {tmp_path}/db\ngoogle_client_ids = test.apps.googleusercontent.com\n"
                "signing_key = test-signing-key-0123456789abcdef0123456789abcdef\n")
    out = open(tmp_path / "cluster.out", "wb")
    env = dict(os.environ, PORT=str(port), SOCIALAUTH_CONF=str(conf),
               CLUSTER_DIR=str(tmp_path / "cluster"))
    proc = subprocess.Popen([os.path.join(ROOT, "bin", "socialauth-cluster")], cwd=ROOT,
                            env=env, stdout=out, stderr=out, start_new_session=True)
    tag = proc.pid % 1000
    try:
        deadline = time.time() + 90
        while b"three nodes behind" not in (tmp_path / "cluster.out").read_bytes():
            assert proc.poll() is None and time.time() < deadline, \
                (tmp_path / "cluster.out").read_text()
            time.sleep(0.2)
        # HAProxy: every backend up (its health checks), then round robin over the three.
        ok = 0
        while ok < 6:
            r = requests.get(f"http://127.0.0.1:{port}/api/health/", timeout=10)
            ok = ok + 1 if r.status_code == 200 else 0
            assert time.time() < deadline, r.text
            time.sleep(0.1 if ok else 0.5)
        assert requests.get(f"http://127.0.0.1:{port}/api/auth/user/",
                            timeout=10).status_code == 401
        spaces = set()
        for i in (1, 2, 3):
            nd = tmp_path / "cluster" / f"n{i}"
            web = int((nd / "lighttpd.pid").read_text())
            node = node_pid(str(nd / "socialauth.conf"))
            assert node, f"no socialauth node for n{i}"
            ns = netns_of(web)
            assert ns != netns_of(os.getpid()) and ns == netns_of(node)
            programs = children(web)
            assert programs and all(netns_of(p) == ns for p in programs)
            spaces.add(ns)
        assert len(spaces) == 3
        status = subprocess.run([os.path.join(ROOT, "bin", "socialauth"), "--config",
                                 str(tmp_path / "cluster" / "n1" / "socialauth.conf"),
                                 "cluster", "status"], capture_output=True, text=True,
                                timeout=30)
        assert status.returncode == 0 and "master: 10.216.16." in status.stdout, status
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not [n for n in left.split() if n.startswith(f"s16n{tag}")], left
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert f"s16b{tag}" not in links and f"s16f{tag}" not in links
    assert b"cluster stopped" in (tmp_path / "cluster.out").read_bytes()
    for i in (1, 2, 3):
        assert node_pid(str(tmp_path / "cluster" / f"n{i}" / "socialauth.conf")) is None
