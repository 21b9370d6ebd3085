"""The DCs whose key or certificate the role must (re)make, read on the controller.

Over 1000 DCs, making each DC's key, signing request and certificate with
community.crypto costs three module runs on the controller per DC and per run
(about 200 s of its CPU), though a converged run changes none. This lookup
reads the files in the controller's process, once, and names the DCs where
something is not what those modules would leave: only those run them, and the
modules still decide what to make. A DC is due when its key is missing, not an
EC P-256 key or not 0600; or its certificate is missing, not 0644, not of its
key, not signed by the CA (a new CA re-signs every DC), or does not name the DC
as the role asks (subject, subjectAltName, CA:FALSE, server and client auth,
the key's identifier as community.crypto adds it).

    query('oid_trust_due', locations, pki_directory=..., ca_certificate=...)
"""

from __future__ import annotations

import os
import stat

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:  # community.crypto needs it on the controller too; the lookup says so
    x509 = None

USAGES = {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} if x509 else set()


def mode_is(path: str, mode: int) -> bool:
    return stat.S_IMODE(os.stat(path).st_mode) == mode


def public_bytes(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def sound_public_key(path: str):
    """The DC's public key (DER) if its key file is what openssl_privatekey made, else None."""
    if not os.path.isfile(path) or not mode_is(path, 0o600):
        return None
    with open(path, "rb") as pem:
        try:
            key = serialization.load_pem_private_key(pem.read(), password=None)
        except (ValueError, TypeError):
            return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        return None
    return public_bytes(key.public_key())


def names_the_dc(certificate, location: str) -> bool:
    extensions = certificate.extensions
    try:
        key_identifier = extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        alt_names = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        constraints = extensions.get_extension_for_class(x509.BasicConstraints).value
        usages = extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return (
        certificate.subject == x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, location)])
        and alt_names.get_values_for_type(x509.DNSName) == [location.lower()]
        and len(list(alt_names)) == 1
        and not constraints.ca
        and set(usages) == USAGES
        and key_identifier == x509.SubjectKeyIdentifier.from_public_key(certificate.public_key())
    )


def sound_certificate(path: str, public_key: bytes, ca):
    """The DC's certificate if it is of its key and signed by the CA, else None."""
    if not os.path.isfile(path) or not mode_is(path, 0o644):
        return None
    with open(path, "rb") as pem:
        try:
            certificate = x509.load_pem_x509_certificate(pem.read())
        except ValueError:
            return None
    if public_bytes(certificate.public_key()) != public_key or certificate.issuer != ca.subject:
        return None
    try:
        certificate.verify_directly_issued_by(ca)
    except (InvalidSignature, ValueError, TypeError):
        return None
    return certificate


def due(location: str, pki_directory: str, ca) -> bool:
    public_key = sound_public_key(os.path.join(pki_directory, f"{location}.key"))
    if public_key is None:
        return True
    certificate = sound_certificate(os.path.join(pki_directory, f"{location}.crt"), public_key, ca)
    return certificate is None or not names_the_dc(certificate, location)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if x509 is None:
            raise AnsibleLookupError("oid_trust_due needs the cryptography package on the controller")
        locations = terms[0] if terms and isinstance(terms[0], list) else terms
        ca_path = kwargs["ca_certificate"]
        if not os.path.isfile(ca_path):  # no CA yet (check mode): every DC
            return list(locations)
        with open(ca_path, "rb") as pem:
            ca = x509.load_pem_x509_certificate(pem.read())
        return [location for location in locations if due(location, kwargs["pki_directory"], ca)]
