"""Trust between interposers: mutual TLS, a certificate per DC.

Each DC has a key and a certificate signed by the federation's CA, naming
its location (subjectAltName DNS: the location's name in lower case; DNS
names compare without case, as locations do). The interposer listens for
peers on a port of its own that takes TLS only, and only from a client whose
certificate the federation's CA signed; it reaches every other DC's
interposer there, with its own certificate, checking that the answering
certificate names the DC it meant to reach. So:

- a peer is who its certificate says it is: a request on the peer port
  comes from the location its certificate names, and from nowhere else (a
  claim of another origin is refused);
- the plain port, where this DC's clients and services enter, trusts
  nobody: internal headers sent there are a client's, and dropped;
- every byte between DCs is encrypted; there is no secret common to DCs,
  so a DC that is taken over speaks for itself only;
- with the CA's revocation list (``crl_file``), a certificate the CA revoked
  (a DC's key that leaked, replaced by a new one) is refused both ways.
"""

from __future__ import annotations

import logging
import re
import ssl
from dataclasses import dataclass
from pathlib import Path

from oid.scope import ScopeError

log = logging.getLogger("oid.interposer.trust")


class PeerRefused(Exception):
    """A peer's certificate that names no location of the catalog (a DC that was removed)."""


@dataclass(frozen=True)
class PeerTLS:
    """This DC's side of the federation's mutual TLS (paths as the interposer sees them)."""

    ca_file: str
    cert_file: str
    key_file: str
    host: str = "0.0.0.0"
    port: int = 8791
    crl_file: str | None = None

    def server_context(self) -> ssl.SSLContext:
        """The peer port's: TLS 1.2 or later, a client certificate of the federation's CA required."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=self.ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_cert_chain(self.cert_file, self.key_file)
        self.check_revocation(context)
        context.sslobject_class = LoggedHandshake
        return context

    def check_revocation(self, context: ssl.SSLContext) -> None:
        """With a CRL: the peer's certificate is checked against it (a revoked one,
        or a CRL past its next update, fails the handshake with that reason)."""
        if self.crl_file:
            require_crls_only(self.crl_file)
            context.load_verify_locations(cafile=self.crl_file)
            context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF

    def client_context(self) -> ssl.SSLContext:
        """What this interposer reaches its peers with: its own certificate, the
        federation's CA only (not the system's), the peer's name checked."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca_file)
        # TLS 1.2 (ECDHE, AEAD ciphers: forward secrecy all the same), not 1.3: in
        # 1.3 the server checks the client's certificate after the client has
        # finished its handshake and sent the request, so a refused certificate
        # reads as a dropped connection, with no reason, after a request that
        # may have arrived ('|' could not send a POST on). In 1.2 the handshake
        # fails, with the server's reason (unknown CA, expired), before any byte.
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = True
        context.load_cert_chain(self.cert_file, self.key_file)
        self.check_revocation(context)
        return context

    def check_own_certificate(self, location: str) -> None:
        """A handshake of this interposer with itself, in memory, as a peer would
        make it: its certificate, the CA and the CRL go together (not revoked,
        not expired, the CRL the CA's and current), or ValueError says why, at
        start rather than at every peer's connection."""
        to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
        client = self.client_context().wrap_bio(to_client, to_server, server_hostname=certificate_name(location))
        server_context = self.server_context()
        server_context.sslobject_class = ssl.SSLObject  # nothing to log: the reason is raised
        server = server_context.wrap_bio(to_server, to_client, server_side=True)
        pending = [client, server]
        for _ in range(10):  # a TLS 1.2 handshake takes two round trips
            for side in list(pending):
                try:
                    side.do_handshake()
                    pending.remove(side)
                except ssl.SSLWantReadError:
                    pass
                except ssl.SSLError as exc:
                    raise ValueError(handshake_failure(exc).replace("peer refused", "refused by itself")) from None
            if not pending:
                return
        raise ValueError("refused by itself: the TLS handshake did not complete")


# The PEM blocks of a file, wherever they start (OpenSSL reads CRLF lines too).
# A CRL file holds CRLs only: a certificate there would be loaded as a trusted
# CA (OpenSSL reads certificates and CRLs from the same file).
PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----")


def require_crls_only(path: str) -> None:
    kinds = PEM_BLOCK.findall(Path(path).read_text(errors="replace"))
    if not kinds or set(kinds) != {"X509 CRL"}:
        found = ", ".join(sorted(set(kinds))) or "no PEM block"
        raise ValueError(f"{path} is not a CRL: it holds {found} (only X509 CRL blocks are read there)")


def certificate_name(location: str) -> str:
    """The DNS name a location's certificate carries (and the name a peer's is checked against)."""
    return location.lower()


def names_in(peercert: dict | None) -> list[str]:
    """The DNS names of a verified certificate (ssl's getpeercert() form)."""
    if not peercert:
        return []
    return [value for kind, value in peercert.get("subjectAltName", ()) if kind == "DNS"]


def peer_location(transport, catalog) -> str | None:
    """The location whose certificate opened this connection; None on the plain
    port (no TLS, so no peer). Only a certificate the federation's CA signed
    gets this far (the peer port's context requires one); it must name
    exactly one location of the catalog."""
    if transport is None or transport.get_extra_info("sslcontext") is None:
        return None
    names = names_in(transport.get_extra_info("peercert"))
    found = set()
    for name in names:
        try:
            found.add(catalog.resolve(name))
        except ScopeError:
            pass  # a name that is not a location's (the certificate may carry others)
    if len(found) != 1:
        shown = ", ".join(names[:5]) or "none"
        raise PeerRefused(f"the peer's certificate names no single location of the catalog (names: {shown})")
    return found.pop()


class LoggedHandshake(ssl.SSLObject):
    """The TLS connection of the peer port (the context's sslobject_class): a
    handshake it refuses is logged with the reason (an unknown CA, an expired
    certificate, none at all, plain HTTP). The event loop does the handshake
    and drops a refused connection without a word (the peer only sees it
    closed); this is where the reason is still known."""

    def do_handshake(self):
        try:
            return super().do_handshake()
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            raise  # not done yet: more bytes to come
        except ssl.SSLError as exc:
            log.warning(handshake_failure(exc))
            raise


def handshake_failure(exc: ssl.SSLError) -> str:
    """Why the peer port refused a TLS handshake, in a few words."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"peer refused: its certificate: {exc.verify_message}"
    return f"peer refused: TLS: {exc.reason or exc}"
