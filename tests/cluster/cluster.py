"""Three socialauth nodes on loopback: each a `socialauth node` (replication site) and a
lighttpd with the endpoints using store_backend = node. Processes are stopped by the PIDs
recorded here (a node's lighttpd runs in its own session: its FastCGI children go with it).
"""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from sa_server import ROOT, Server, free_port  # noqa: E402

SOCIALAUTH = os.path.join(ROOT, "bin", "socialauth")


class Node:
    def __init__(self, tmpdir, name, rep_port, peer_ports, settings):
        self.name = name
        self.dir = os.path.join(str(tmpdir), name)
        os.makedirs(self.dir, exist_ok=True)
        self.rep = f"127.0.0.1:{rep_port}"
        self.settings = dict(settings)
        self.settings.update({
            "db_home": os.path.join(self.dir, "db"),
            "store_backend": "node",
            "rep_local": self.rep,
            "rep_sites": " ".join(f"127.0.0.1:{p}" for p in peer_ports),
            "node_socket": os.path.join(self.dir, "node.sock"),
        })
        self.node = None
        self.web = None
        self.conf = None

    def start_node(self):
        self.conf = os.path.join(self.dir, "socialauth.conf")
        with open(self.conf, "w") as f:
            for k, v in self.settings.items():
                f.write(f"{k} = {v}\n")
        f = open(os.path.join(self.dir, "node.log"), "ab")
        self.node = subprocess.Popen([SOCIALAUTH, "--config", self.conf, "node"], stdout=f,
                                     stderr=f, start_new_session=True)

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
    def __init__(self, tmpdir, settings, n=3):
        ports = [free_port() for _ in range(n)]
        self.nodes = [Node(tmpdir, f"n{i}", ports[i], ports[:i] + ports[i + 1:], settings)
                      for i in range(n)]
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

    def stop(self):
        for node in self.nodes:
            node.stop()
