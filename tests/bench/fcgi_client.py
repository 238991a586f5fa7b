"""A FastCGI client for the benchmark's direct measurements (tests/bench/profile.py and the
spawn and memory rows of bench.py): it talks to one endpoint process the way lighttpd's
mod_fastcgi does, one connection per request (no keep-conn), the responder role, the CGI
parameters lighttpd sends. Standard library only.

    ep = Endpoint(["cgi-bin/user-me"], env={"SOCIALAUTH_CONF": conf}, sock_path=path)
    status, headers, body = ep.request("GET", "/api/auth/user/", headers={...})
    ep.stop()

The FastCGI record layout is the FastCGI 1.0 specification's (section 3.3: version, type,
request id, content length, padding length, reserved; section 5.1: BEGIN_REQUEST).
"""

import os
import socket
import struct
import subprocess
import time

BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 3, 4, 5, 6, 7
RESPONDER = 1


def _record(rtype, content, request_id=1):
    out = []
    for i in range(0, max(len(content), 1), 65535):
        chunk = content[i:i + 65535]
        out.append(struct.pack(">BBHHBx", 1, rtype, request_id, len(chunk), 0) + chunk)
    return b"".join(out)


def _pair(name, value):
    def length(n):
        return struct.pack(">B", n) if n < 128 else struct.pack(">I", n | 0x80000000)
    name, value = name.encode(), value.encode()
    return length(len(name)) + length(len(value)) + name + value


def encode_request(method, path, body=b"", headers=None):
    """The bytes lighttpd sends for one request: BEGIN_REQUEST, PARAMS, STDIN."""
    params = {
        "CONTENT_LENGTH": str(len(body)), "QUERY_STRING": "", "REQUEST_URI": path,
        "REDIRECT_STATUS": "200", "SCRIPT_NAME": path, "SCRIPT_FILENAME": "/srv" + path,
        "DOCUMENT_ROOT": "/srv", "REQUEST_METHOD": method, "SERVER_PROTOCOL": "HTTP/1.1",
        "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_SOFTWARE": "lighttpd/1.4.69",
        "SERVER_NAME": "127.0.0.1", "SERVER_ADDR": "127.0.0.1", "SERVER_PORT": "8000",
        "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "40000", "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "profile", "HTTP_ACCEPT": "*/*",
    }
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        params[key if key in ("CONTENT_TYPE",) else "HTTP_" + key] = value
    pairs = b"".join(_pair(k, v) for k, v in params.items())
    return (_record(BEGIN_REQUEST, struct.pack(">HB5x", RESPONDER, 0)) +
            _record(PARAMS, pairs) + _record(PARAMS, b"") +
            (_record(STDIN, body) if body else b"") + _record(STDIN, b""))


def parse_answer(data):
    """(status, {header: value}, body) from a CGI answer (Status header, blank line, body)."""
    head, _, body = data.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    status = int(headers.get("status", "200").split()[0])
    return status, headers, body


def exchange(sock_path, payload, timeout=30, stderr=None):
    """Send one encoded request on a new connection; returns the STDOUT bytes. The STDERR
    records (the program's log lines, which a web server writes to its error log) are
    appended to the list `stderr` when one is given, else dropped."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        s.sendall(payload)
        buf, out = b"", []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("the endpoint closed the connection before END_REQUEST")
            buf += chunk
            while len(buf) >= 8:
                _, rtype, _, clen, plen = struct.unpack(">BBHHBx", buf[:8])
                if len(buf) < 8 + clen + plen:
                    break
                content, buf = buf[8:8 + clen], buf[8 + clen + plen:]
                if rtype == STDOUT:
                    out.append(content)
                elif rtype == STDERR and stderr is not None:
                    stderr.append(content)
                elif rtype == END_REQUEST:
                    return b"".join(out)
    finally:
        s.close()


class Endpoint:
    """One endpoint process listening on a unix socket it got as standard input (as lighttpd
    and spawn-fcgi start it). `wrap` is a command prefix (valgrind, strace...)."""

    def __init__(self, argv, env, sock_path, wrap=(), stderr=None):
        self.sock_path = sock_path
        if os.path.exists(sock_path):
            os.unlink(sock_path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(sock_path)
        listener.listen(128)
        self.started = time.perf_counter()
        self.proc = subprocess.Popen([*wrap, *argv], stdin=listener.fileno(),
                                     stdout=subprocess.DEVNULL, stderr=stderr,
                                     env=dict(os.environ, **env), close_fds=True)
        self.listener = listener   # kept: finish() shuts it down under the process

    @property
    def pid(self):
        return self.proc.pid

    def raw(self, payload, stderr=None):
        return exchange(self.sock_path, payload, stderr=stderr)

    def request(self, method, path, body=b"", headers=None, stderr=None):
        """(status, headers, body); the log lines, if any, are appended to list stderr."""
        return parse_answer(self.raw(encode_request(method, path, body, headers), stderr))

    def finish(self, timeout=120):
        """End the process the way its loop ends: the listening socket is shut down, so its
        accept() fails and FCGI_Accept returns; the process exits normally (valgrind then
        writes its output). Returns the exit status; SIGKILL after timeout seconds."""
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.stop()

    def stop(self, timeout=30):
        """SIGTERM, then the process's exit status (SIGKILL after timeout seconds)."""
        self.listener.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if os.path.exists(self.sock_path):
            os.unlink(self.sock_path)
        return self.proc.returncode


def private_kib(pid):
    """Private_Clean + Private_Dirty of a process, KiB (/proc/PID/smaps_rollup): its own
    memory, without the shared libraries and shared regions that RSS also counts."""
    total = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in ("Private_Clean", "Private_Dirty"):
                total += int(rest.split()[0])
    return total
