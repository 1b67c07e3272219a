"""Behind a proxy: X-Forwarded-Proto/Host/For and the client-certificate headers are believed on
connections from the trusted proxy address only (`serve --trusted-proxy`), and dropped from any
other. The tests connect from two loopback addresses: 127.0.0.2 plays the proxy, 127.0.0.1
anyone else. (tests/fleet/test_nginx.py does the same through a real nginx.)"""
from __future__ import annotations

import time

import pytest

from tests.live_server import LiveServer

API = "/api/v1"
PROXY = "127.0.0.2"
FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "sensor1.example.org",
             "X-Forwarded-For": "198.51.100.7"}
CERTIFICATE = {"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Client-S-DN": "CN=manager,O=Fleet"}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("proxy") / "data", scheduler=False,
                        args=("--trusted-proxy", PROXY)).start()
    server.create_user("manager")
    yield server
    server.stop()


def test_urls_follow_the_forwarded_scheme_and_host_from_the_trusted_proxy(live):
    root = live.get(f"{API}/", headers=FORWARDED, source=PROXY)
    assert root.status == 200
    assert root.json()["schedule"] == "https://sensor1.example.org/api/v1/schedule/"
    moved = live.get(f"{API}/status/", headers=FORWARDED, source=PROXY)
    assert moved.status == 301 and moved.headers["location"] == "https://sensor1.example.org/api/v1/status"
    # the client's address, not the proxy's, in the access log
    deadline = time.monotonic() + 10  # the line is written once the response has been sent
    while '198.51.100.7 "GET /api/v1/" 200' not in live.log():
        assert time.monotonic() < deadline, live.log()[-2000:]
        time.sleep(0.05)


def test_the_same_headers_from_anyone_else_are_ignored(live):
    root = live.get(f"{API}/", headers=FORWARDED)
    assert root.json()["schedule"] == live.url(f"{API}/schedule/")
    moved = live.get(f"{API}/status/", headers=FORWARDED)
    assert moved.headers["location"] == live.url(f"{API}/status")


def test_a_certificate_the_proxy_verified_names_the_user_by_its_cn(live):
    me = live.get(f"{API}/users/me/", token=None, headers=CERTIFICATE, source=PROXY)
    assert me.status == 200 and me.json()["name"] == "manager", me


@pytest.mark.parametrize("headers, source", [
    (CERTIFICATE, None),                                                   # not from the proxy
    ({**CERTIFICATE, "X-SSL-Client-Verify": "FAILED:certificate has expired"}, PROXY),
    ({**CERTIFICATE, "X-SSL-Client-Verify": "NONE"}, PROXY),
    ({"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Client-S-DN": "CN=stranger,O=Fleet"}, PROXY),
    ({"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Client-S-DN": "O=Fleet"}, PROXY),
])
def test_no_user_without_a_verified_certificate_of_a_known_name_from_the_proxy(live, headers, source):
    r = live.get(f"{API}/users/me/", token=None, headers=headers, source=source)
    assert r.status == 401 and r.headers["www-authenticate"] == "Token", r


def test_a_token_wins_over_a_certificate(live):
    r = live.get(f"{API}/users/me/", headers=CERTIFICATE, source=PROXY)
    assert r.status == 200 and r.json()["name"] == "admin"


def test_without_a_trusted_proxy_nothing_forwarded_is_believed(tmp_path):
    with LiveServer(tmp_path / "data", scheduler=False) as server:
        server.create_user("manager")
        root = server.get(f"{API}/", headers=FORWARDED, source=PROXY)
        assert root.json()["schedule"] == server.url(f"{API}/schedule/")
        assert server.get(f"{API}/users/me/", token=None, headers=CERTIFICATE, source=PROXY).status == 401


def test_a_trusted_proxy_must_be_an_ip_address(tmp_path):
    import subprocess

    from tests.live_server import SCOS_GR

    proc = subprocess.run([str(SCOS_GR), "serve", "--trusted-proxy", "proxy.example", "--data-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--trusted-proxy: 'proxy.example' is not an IP address" in proc.stderr
