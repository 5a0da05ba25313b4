"""A throwaway certificate authority and server certificate for the lab's HTTPS endpoint.

The CA certificate is written as PEM to a path the client passes as ``cert_validation=<path>``; the server
certificate carries SAN ``127.0.0.1`` and ``localhost`` so hostname checking passes on loopback.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["LabCertificates", "make_certificates"]


class LabCertificates:
    """PEM files of a lab CA and server certificate; ``ssl_context()`` builds the server side."""

    def __init__(self, ca_path: Path, cert_path: Path, key_path: Path) -> None:
        self.ca_path = ca_path
        self.cert_path = cert_path
        self.key_path = key_path

    def ssl_context(self) -> ssl.SSLContext:
        """A TLS 1.2+ server context with the lab's certificate chain."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(self.cert_path), str(self.key_path))
        return context

    def remove_private(self) -> None:
        """Delete the server certificate and key (the CA PEM stays for clients)."""
        self.key_path.unlink(missing_ok=True)
        self.cert_path.unlink(missing_ok=True)
        try:
            self.key_path.parent.rmdir()
        except OSError:
            pass


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hybridkit lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificates(ca_path: Path, hostnames: tuple[str, ...] = ("localhost",),
                      addresses: tuple[str, ...] = ("127.0.0.1",)) -> LabCertificates:
    """Generate a CA and a server certificate; write the CA PEM to ``ca_path`` and the server pair beside it.

    The server key and certificate go to a private (0700) temporary directory.
    """
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("hybridkit lab CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    san = [x509.DNSName(h) for h in hostnames] + [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hostnames[0] if hostnames else addresses[0]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path.parent.mkdir(parents=True, exist_ok=True)
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    private_dir = Path(tempfile.mkdtemp(prefix="hybridkit-lab-tls-"))
    os.chmod(private_dir, 0o700)
    cert_path = private_dir / "server.pem"
    key_path = private_dir / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return LabCertificates(ca_path, cert_path, key_path)
