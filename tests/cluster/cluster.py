"""Three socialauth nodes: each a `socialauth node` (replication site) and a lighttpd with the
endpoints using store_backend = node. Processes are stopped by the PIDs recorded here (a
node's lighttpd runs in its own session: its FastCGI children go with it).

With netns=True each `socialauth node` runs in a network namespace of its own, made here
(veth pairs on a bridge, 10.216.T.0/24), so that a link can be taken down: a partition of
replication traffic. lighttpd and the programs stay on loopback (they reach their node over
its UNIX socket), so the test still reaches the minority side, as a load balancer would.
The namespaces and the bridge are removed by stop(), also after a failure.
"""

import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from sa_server import ROOT, Server, free_port  # noqa: E402

SOCIALAUTH = os.path.join(ROOT, "bin", "socialauth")


def ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


class Node:
    def __init__(self, tmpdir, name, rep, peers, settings, netns=None):
        self.name = name
        self.dir = os.path.join(str(tmpdir), name)
        os.makedirs(self.dir, exist_ok=True)
        self.rep = rep
        self.netns = netns
        self.settings = dict(settings)
        self.settings.update({
            "db_home": os.path.join(self.dir, "db"),
            "store_backend": "node",
            "rep_local": self.rep,
            "rep_sites": " ".join(peers),
            "node_socket": os.path.join(self.dir, "node.sock"),
        })
        self.node = None
        self.web = None
        self.conf = None

    def start_node(self):
        self.conf = os.path.join(self.dir, "socialauth.conf")
        # It holds the signing key inline, so it must be private (config.h).
        with open(os.open(self.conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            for k, v in self.settings.items():
                f.write(f"{k} = {v}\n")
        f = open(os.path.join(self.dir, "node.log"), "ab")
        cmd = [SOCIALAUTH, "--config", self.conf, "node"]
        if self.netns:   # `ip netns exec` execs the node: the PID stays the node's
            cmd = ["ip", "netns", "exec", self.netns] + cmd
        self.node = subprocess.Popen(cmd, stdout=f, stderr=f, start_new_session=True)

    def start_web(self):
        if self.web is None:
            self.web = Server(self.dir, init=False, **self.settings)
        else:
            self.web.start()

    def status(self):
        r = subprocess.run([SOCIALAUTH, "--config", self.conf, "cluster", "status"],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            return {}
        return dict(line.split(": ", 1) for line in r.stdout.splitlines() if ": " in line)

    def kill(self):
        """SIGKILL every process of the node: its `socialauth node`, lighttpd, programs."""
        for p in (self.node, self.web.proc if self.web else None):
            if p and p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()

    def stop(self):
        if self.web:
            self.web.stop()
        if self.node and self.node.poll() is None:
            self.node.send_signal(signal.SIGTERM)
            try:
                self.node.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.node.pid, signal.SIGKILL)
                self.node.wait()


class Cluster:
    def __init__(self, tmpdir, settings, n=3, netns=False):
        self.links = []
        self.namespaces = []
        self.bridge = None
        try:
            if netns:
                tag = f"{os.getpid() % 1000}{random.randrange(100)}"
                net = f"10.216.{random.randrange(1, 250)}"
                addrs = [f"{net}.{i + 1}:7016" for i in range(n)]
                self._make_namespaces(tag, net, n)
            else:
                addrs = [f"127.0.0.1:{free_port()}" for _ in range(n)]
            self.nodes = [Node(tmpdir, f"n{i}", addrs[i], addrs[:i] + addrs[i + 1:], settings,
                               self.namespaces[i] if netns else None)
                          for i in range(n)]
        except BaseException:
            self.remove_namespaces()
            raise
        try:
            for node in self.nodes:
                node.start_node()
            self.wait_roles(60)
            for node in self.nodes:
                node.start_web()
        except BaseException:
            self.stop()
            raise

    def wait_roles(self, timeout, nodes=None):
        """Until one node is master and every other a replica (bounded); the master."""
        nodes = nodes or self.nodes
        deadline = time.time() + timeout
        while True:
            roles = [n.status().get("role") for n in nodes]
            if roles.count("master") == 1 and roles.count("replica") == len(nodes) - 1:
                return nodes[roles.index("master")]
            if time.time() > deadline:
                logs = "".join(open(os.path.join(n.dir, "node.log")).read() for n in nodes)
                raise AssertionError(f"roles {roles} after {timeout} s\n{logs}")
            time.sleep(0.2)

    def master(self):
        return self.wait_roles(60)

    def _make_namespaces(self, tag, net, n):
        self.bridge = f"s16b{tag}"
        ip("link", "add", self.bridge, "type", "bridge")
        ip("link", "set", self.bridge, "up")
        for i in range(n):
            ns, host, peer = f"s16n{tag}{i}", f"s16v{tag}{i}", f"s16p{tag}{i}"
            ip("netns", "add", ns)
            self.namespaces.append(ns)
            ip("link", "add", host, "type", "veth", "peer", "name", peer)
            self.links.append(host)
            ip("link", "set", peer, "netns", ns)
            ip("-n", ns, "addr", "add", f"{net}.{i + 1}/24", "dev", peer)
            ip("-n", ns, "link", "set", peer, "up")
            ip("-n", ns, "link", "set", "lo", "up")
            ip("link", "set", host, "master", self.bridge, "up")

    def link(self, node, up):
        """Take node's link to the others down (a partition) or up again."""
        ip("link", "set", self.links[self.nodes.index(node)], "up" if up else "down")

    def remove_namespaces(self):
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        for link in self.links:
            subprocess.run(["ip", "link", "del", link], capture_output=True, timeout=30)
        if self.bridge:
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True, timeout=30)
        self.namespaces, self.links, self.bridge = [], [], None

    def stop(self):
        try:
            for node in getattr(self, "nodes", []):
                node.stop()
        finally:
            self.remove_namespaces()
