"""The shipped nginx configuration (deploy/nginx/) in front of a real sensor, in Debian's nginx
with a throwaway CA: https URLs, headers a client cannot forge, and client certificates (no
certificate: refused; one signed by the fleet's CA: the user its CN names)."""
from __future__ import annotations

import http.client
import json
import ssl

import pytest

from tests.fleet.nginx import PROXY_ADDRESS, Nginx, require_nginx
from tests.fleet.tls import ThrowawayCA
from tests.live_server import LiveServer

API = "/api/v1"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    require_nginx()
    ca = ThrowawayCA(tmp_path_factory.mktemp("tls"))
    ca.issue("sensor", dns=["localhost"], ips=["127.0.0.1"])  # sensor.crt, sensor.key: the names the config uses
    (ca.folder / "fleet-ca.crt").write_bytes(ca.cert.read_bytes())
    return ca


@pytest.fixture(scope="module")
def sensor(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("sensor") / "data", scheduler=False,
                        args=("--trusted-proxy", PROXY_ADDRESS)).start()
    server.create_user("manager")
    yield server
    server.stop()


def _https(port: int, context: ssl.SSLContext, path: str, headers: dict[str, str] | None = None):
    conn = http.client.HTTPSConnection("localhost", port, context=context, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_through_tls_every_url_is_https_and_the_certificate_headers_cannot_be_forged(ca, sensor, tmp_path):
    with Nginx(tmp_path / "nginx", sensor.port, ca.folder) as proxy:
        context = ca.client_context()
        auth = {"Authorization": f"Token {sensor.token}"}
        status, _, body = _https(proxy.port, context, f"{API}/", auth)
        assert status == 200, body
        base = f"https://localhost:{proxy.port}{API}"
        assert json.loads(body)["schedule"] == f"{base}/schedule/"
        status, headers, _ = _https(proxy.port, context, f"{API}/status/", auth)
        assert status == 301 and headers["location"] == f"{base}/status"
        # a client that claims a verified certificate itself: nginx overwrites the headers
        forged = {"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Client-S-DN": "CN=admin,O=Fleet"}
        status, _, body = _https(proxy.port, context, f"{API}/users/me/", forged)
        assert status == 401, body
        # the same request straight to the sensor, from an address that is not the proxy: not believed
        assert sensor.get(f"{API}/users/me/", token=None, headers=forged).status == 401


def test_client_certificates_refuse_a_client_without_one_and_accept_the_fleets(ca, sensor, tmp_path):
    manager = ca.issue("manager")
    stranger = ca.issue("stranger")
    other_ca = ThrowawayCA(tmp_path / "other-ca", name="someone else's CA")
    impostor = other_ca.issue("manager")
    with Nginx(tmp_path / "nginx", sensor.port, ca.folder, client_certificates=True) as proxy:
        status, _, body = _https(proxy.port, ca.client_context(), f"{API}/users/me/",
                                 {"Authorization": f"Token {sensor.token}"})
        assert status == 400 and b"No required SSL certificate was sent" in body, body

        status, _, body = _https(proxy.port, ca.client_context(manager), f"{API}/users/me/")
        assert status == 200, body
        assert json.loads(body)["name"] == "manager"
        assert json.loads(body)["url"] == f"https://localhost:{proxy.port}{API}/users/manager/"

        status, _, body = _https(proxy.port, ca.client_context(stranger), f"{API}/users/me/")
        assert status == 401 and b"CN=stranger" in body, body  # verified, but no such user

        try:
            status, _, body = _https(proxy.port, ca.client_context(impostor), f"{API}/users/me/")
        except (ssl.SSLError, ConnectionError):
            status = None  # refused in the handshake
        assert status in (None, 400), body
