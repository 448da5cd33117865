"""Self-signed application certificates for OPC UA: what a client or a test server shows on a secure channel.

OPC UA asks for an RSA key, the application URI as a URI subject alternative name (peers compare it with the
URI the application announces) and key usages that allow signing and key encipherment. Plain `cryptography`;
no file is written.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def make_self_signed_cert(common_name: str, uri: str, *, hosts: list[str] | None = None, days: int = 825,
                          key_size: int = 2048, key_password: str | None = None) -> tuple[str, str]:
    """A new RSA key and a certificate for it signed by itself, both PEM: (certificate, private key).

    `uri` is the application URI (e.g. "urn:synfab:connector:SIM-OPCUA"); `hosts` are DNS names or IP
    addresses put in the certificate (default: this host's name, localhost and 127.0.0.1). A `key_password`
    encrypts the private key PEM.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(uri)]
    for host in hosts if hosts is not None else [socket.gethostname(), "localhost", "127.0.0.1"]:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "synfab")])
    # A minute in the past: a peer whose clock is slightly behind still accepts it at once.
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=True,
                                     data_encipherment=True, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                              ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(key_password.encode()) if key_password
        else serialization.NoEncryption())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


def application_uri(cert_pem: str) -> str | None:
    """The URI subject alternative name of a PEM certificate (the application URI), if it has one."""
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else None


def der_of(cert_pem: str) -> bytes:
    """The DER bytes of a PEM certificate (what an endpoint carries), to compare certificates."""
    return x509.load_pem_x509_certificate(cert_pem.encode()).public_bytes(serialization.Encoding.DER)
