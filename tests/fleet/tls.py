"""A throwaway certificate authority for tests, made with Debian's openssl command.

    ca = ThrowawayCA(tmp_path / "tls")
    server = ca.issue("sensor", dns=["localhost"], ips=["127.0.0.1"])   # (cert, key) paths
    client = ca.issue("manager")                                         # CN=manager

Keys are EC P-256 (quick to make); everything lives in the given directory and is valid one day.
"""
from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Optional

import pytest


def require_openssl() -> str:
    path = shutil.which("openssl")
    if path is None:
        pytest.skip("openssl is not installed (Debian package 'openssl'; `make deps` installs it)")
    return path


class ThrowawayCA:
    def __init__(self, folder: Path, name: str = "scos-gr test fleet CA") -> None:
        self.openssl = require_openssl()
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.cert = self.folder / "ca.crt"
        self.key = self.folder / "ca.key"
        self._run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", str(self.key), "-out", str(self.cert), "-days", "1", "-subj", f"/CN={name}",
                  "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def _run(self, *args: str) -> None:
        proc = subprocess.run([self.openssl, *args], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr

    def issue(self, cn: str, dns: Optional[list[str]] = None, ips: Optional[list[str]] = None,
              organisation: str = "Fleet") -> tuple[Path, Path]:
        """A certificate and key for subject ``CN=cn,O=organisation``, signed by this CA."""
        cert, key, csr = (self.folder / f"{cn}.crt", self.folder / f"{cn}.key", self.folder / f"{cn}.csr")
        self._run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key),
                  "-out", str(csr), "-subj", f"/O={organisation}/CN={cn}")
        extensions = self.folder / f"{cn}.ext"
        names = [f"DNS:{d}" for d in dns or []] + [f"IP:{i}" for i in ips or []]
        usage = "serverAuth" if names else "clientAuth"
        extensions.write_text(f"extendedKeyUsage={usage}\n" + (f"subjectAltName={','.join(names)}\n" if names else ""))
        self._run("x509", "-req", "-in", str(csr), "-CA", str(self.cert), "-CAkey", str(self.key), "-CAcreateserial",
                  "-out", str(cert), "-days", "1", "-extfile", str(extensions))
        return cert, key

    def client_context(self, certificate: Optional[tuple[Path, Path]] = None) -> ssl.SSLContext:
        """A TLS client context that trusts this CA (and shows ``certificate`` if given)."""
        context = ssl.create_default_context(cafile=str(self.cert))
        if certificate is not None:
            context.load_cert_chain(str(certificate[0]), str(certificate[1]))
        return context
