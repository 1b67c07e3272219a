"""Behind a reverse proxy: which request headers are believed, and from whom.

A sensor in a fleet is reached through a TLS proxy (``deploy/nginx/``). The proxy tells the
sensor how the client addressed it (``X-Forwarded-Proto``, ``X-Forwarded-Host``), who the client
is (``X-Forwarded-For``) and, when it asks clients for certificates, whose certificate it
verified (``X-SSL-Client-Verify: SUCCESS``, ``X-SSL-Client-S-DN``). Anyone can send those
headers, so they are believed only on connections from the one trusted proxy address
(``--trusted-proxy`` / ``SCOS_TRUSTED_PROXY``) and removed from every other request, before
Bottle (which would build URLs from any ``X-Forwarded-Host``) sees them.

The X-Forwarded-* headers are translated by waitress' own proxy-header middleware (the scheme,
host and client address become ``wsgi.url_scheme``, ``HTTP_HOST`` and ``REMOTE_ADDR``, so every
absolute URL the API builds is the one the client used); the certificate headers are this
module's: a verified subject is put in the environ under :data:`CERTIFICATE_SUBJECT`, where
:mod:`.auth` maps its common name (CN) to the sensor user of that name.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from waitress.proxy_headers import proxy_headers_middleware

#: the environ key holding the subject of a client certificate the trusted proxy verified
CERTIFICATE_SUBJECT = "scos.client_certificate_subject"
#: what nginx's ``$ssl_client_verify`` and ``$ssl_client_s_dn`` arrive as
VERIFY_HEADER = "HTTP_X_SSL_CLIENT_VERIFY"
SUBJECT_HEADER = "HTTP_X_SSL_CLIENT_S_DN"
FORWARDED_HEADERS = frozenset({"x-forwarded-proto", "x-forwarded-host", "x-forwarded-for"})


class BehindProxy:
    """WSGI middleware: the proxy's headers believed from ``trusted_proxy`` only, dropped otherwise."""

    def __init__(self, app: Callable[..., Iterable[bytes]], trusted_proxy: Optional[str]) -> None:
        self.app = app
        self.trusted_proxy = trusted_proxy
        self._translate = proxy_headers_middleware(app, trusted_proxy=trusted_proxy, trusted_proxy_count=1,
                                                   trusted_proxy_headers=set(FORWARDED_HEADERS), clear_untrusted=True)

    def __getattr__(self, name: str) -> Any:  # routes, config... of the wrapped app
        return getattr(self.app, name)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        verify = environ.pop(VERIFY_HEADER, "")
        subject = environ.pop(SUBJECT_HEADER, "")
        environ.pop(CERTIFICATE_SUBJECT, None)
        from_proxy = self.trusted_proxy is not None and environ.get("REMOTE_ADDR") == self.trusted_proxy
        if from_proxy and verify == "SUCCESS" and subject:
            environ[CERTIFICATE_SUBJECT] = subject
        return self._translate(environ, start_response)


def common_name(subject: str) -> Optional[str]:
    """The first CN of an RFC 2253 distinguished name (nginx's ``$ssl_client_s_dn``, most specific
    attribute first: ``CN=manager,O=Fleet``), with its escapes undone; None when it has none."""
    attributes, current, escaped = [], [], False
    for char in subject:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",+":
            attributes.append("".join(current))
            current = []
        else:
            current.append(char)
    attributes.append("".join(current))
    for attribute in attributes:
        key, sep, value = attribute.partition("=")
        if sep and key.strip().upper() == "CN":
            return value.strip()
    return None
