"""What a TLS certificate is valid for, read from the endpoint itself (for errors a person can act on).

When the certificate is trusted but issued for other names than the one a profile connects to, pointing
``ca_bundle`` at a CA changes nothing: the person needs the names the certificate carries. ``certificate_names``
reads them from the peer certificate over a connection that skips verification (only to read the names; nothing
is sent), so the error can list them.
"""

from __future__ import annotations

import socket
import ssl

from cryptography import x509
from cryptography.x509.oid import NameOID

__all__ = ["certificate_names", "name_mismatch_message"]


def certificate_names(host: str, port: int, timeout: float = 5.0) -> list[str]:
    """The DNS names and IP addresses the endpoint's certificate is valid for (its subject CN when it has no SAN).

    Returns [] when the certificate cannot be read.
    """
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            with context.wrap_socket(sock, server_hostname=host) as tls:
                der = tls.getpeercert(binary_form=True)
    except (OSError, ValueError):
        return []
    if not der:
        return []
    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return [*san.get_values_for_type(x509.DNSName), *(str(a) for a in san.get_values_for_type(x509.IPAddress))]


def name_mismatch_message(host: str, names: list[str]) -> str:
    """One line: the certificate is trusted for other names; which ones; what to change."""
    valid = ", ".join(names) if names else "names that could not be read"
    return (f"the endpoint's TLS certificate is not valid for the name '{host}' the profile connects to; it is valid "
            f"for: {valid}. Set server in the profile to one of those names (ca_bundle does not help: the "
            "certificate's issuer is not the problem, its names are)")
