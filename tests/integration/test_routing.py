"""How the generated lighttpd configuration routes requests (issue 13): one fastcgi.server
table looked up by path prefix, no regular-expression condition per endpoint; a path under a
program's prefix that is not its own gets the API reference's 404 (api.html#endpoints) from the program itself."""

import os
import re
import subprocess

import pytest

from sa_server import ROOT, server_kind

PREFIX_ROUTED = server_kind() == "lighttpd"
NOT_OWN = ["/api/auth/userX", "/api/auth/user/x", "/api/auth/user//", "/api/postsX",
           "/api/health/extra", "/api/auth/token/refreshed/", "/api/auth/token/verify/x/"]
OWN = {"/api/auth/user": 401, "/api/auth/user/": 401, "/api/health": 200, "/api/health/": 200,
       "/api/posts/": 401}


@pytest.mark.skipif(not PREFIX_ROUTED, reason="only the lighttpd FastCGI configuration routes "
                    "by prefix; the other servers' configurations match each endpoint's exact "
                    "path, so other paths never reach a program (their server answers 404)")
@pytest.mark.parametrize("path", NOT_OWN)
def test_a_path_under_a_prefix_that_is_not_the_programs_own_is_404(server, path):
    for method in ("GET", "POST", "OPTIONS"):
        r = server.request(method, path, headers={"Authorization": "Bearer x"})
        assert r.status_code == 404, (method, path, r.text)
        assert r.headers["Content-Type"] == "application/json"
        assert r.content == b'{"detail":"Not found."}'
        assert r.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path,status", OWN.items())
def test_the_programs_own_path_with_and_without_slash_is_served(server, path, status):
    r = server.get(path)
    assert r.status_code == status, r.text


def test_generated_configuration_routes_by_prefix(tmp_path):
    conf = tmp_path / "socialauth.conf"
    conf.write_text("max_procs = 3\n")
    out = subprocess.run([os.path.join(ROOT, "bin", "socialauth-lighttpd-conf"), "--port", "8000",
                          "--conf", str(conf), "--run-dir", str(tmp_path), "--sync-procs", "5"],
                         capture_output=True, text=True, check=True).stdout
    assert '$HTTP["url"]' not in out
    assert out.count("fastcgi.server") == 1
    table = {}
    with open(os.path.join(ROOT, "etc", "endpoints")) as f:
        for line in f:
            fields = line.split()
            if fields and not fields[0].startswith("#"):
                table[fields[1]] = fields[2:] == ["sync"]
    blocks = {}
    for prefix, body in re.findall(r'^    "(/[^"]*)" => \( \((.*?)^    \) \),$', out, re.M | re.S):
        exe = re.search(r'"bin-path"\s*=> "[^"]*/([^"/]+)"', body).group(1)
        blocks[exe] = (prefix, re.search(r'"SOCIALAUTH_PATH" => "([^"]*)"', body).group(1),
                       int(re.search(r'"max-procs"\s*=> (\d+)', body).group(1)))
    built = {exe for exe in table if os.access(os.path.join(ROOT, "cgi-bin", exe), os.X_OK)}
    assert set(blocks) == built
    for exe, (prefix, own, procs) in blocks.items():
        assert prefix == own and prefix.startswith("/api/") and not prefix.endswith("/")
        # Endpoints whose answers wait for a flushed commit get --sync-procs, the others
        # max_procs.
        assert procs == (5 if table[exe] else 3), (exe, procs)
    # Without --sync-procs, the sync endpoints get 8 (so that commits share a flush), or
    # max_procs when that is more.
    for max_procs, want in ((3, 8), (12, 12)):
        conf.write_text(f"max_procs = {max_procs}\n")
        out = subprocess.run([os.path.join(ROOT, "bin", "socialauth-lighttpd-conf"), "--port",
                              "8000", "--conf", str(conf), "--run-dir", str(tmp_path)],
                             capture_output=True, text=True, check=True).stdout
        for prefix, body in re.findall(r'^    "(/[^"]*)" => \( \((.*?)^    \) \),$', out,
                                       re.M | re.S):
            exe = re.search(r'"bin-path"\s*=> "[^"]*/([^"/]+)"', body).group(1)
            procs = int(re.search(r'"max-procs"\s*=> (\d+)', body).group(1))
            assert procs == (want if table[exe] else max_procs), (exe, procs, max_procs)
