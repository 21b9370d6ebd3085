"""What every entry into the federation does to a request: the interposer and
the paste filters call these same functions, so a client that reaches an API
service directly gets the same normalization and the same policy check as
one that comes through the interposer.

The path. A path is routed on its first segment (the service) and forwarded as it was
sent, so the same bytes must mean the same thing at every hop: an escape that
one hop decodes and another does not (``/comput%65/...``), or a dot segment
that a later hop resolves (``/identity/%2e%2e/compute/...``, checked as
identity here and run as compute there), would let a request be judged as one
thing and executed as another. So:

- escapes of unreserved characters (RFC 3986, section 6.2.2.2) are decoded,
  the hex digits of the others upper-cased; what is escaped stays escaped;
- a dot segment (``.`` or ``..``, escaped or not), a bad escape, a backslash
  or a control character is refused.
"""

from __future__ import annotations

import hmac
import re
import string
from urllib.parse import quote

from oid import policy
from oid.scope import normalize, parse_canonical

# The wire format (DESIGN.md 2): the scope in X-Scope, or on the token.
SCOPE_HEADER = "X-Scope"
TOKEN_SCOPE_SEPARATOR = "!SCOPE!"
# Internal headers: only a peer interposer (its certificate) or, towards its
# own DC's services, an interposer holding that DC's secret may set them; a
# client's are dropped at the entry.
AUTH_HEADER = "X-Oid-Auth"
HOP_HEADER = "X-Oid-Hop"
ORIGIN_HEADER = "X-Oid-Origin"

UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
ESCAPE = re.compile(r"%(..)?")
HEX = frozenset(string.hexdigits)
MAX_PATH_LENGTH = 8192


class BadPath(ValueError):
    """A path refused before anything is routed; the message says why."""


def _unescape_unreserved(match: re.Match) -> str:
    digits = match.group(1)
    if digits is None or not set(digits) <= HEX:
        raise BadPath("a '%' not followed by two hex digits")
    char = chr(int(digits, 16))
    return char if char in UNRESERVED else "%" + digits.upper()


def normalize_path(raw: str) -> str:
    """The raw (still escaped) path in normal form, or BadPath."""
    if not raw.startswith("/"):
        raise BadPath("the path must start with '/'")
    if len(raw) > MAX_PATH_LENGTH:
        raise BadPath(f"a path longer than {MAX_PATH_LENGTH} characters")
    if any(ord(char) < 0x21 or ord(char) == 0x7F or char == "\\" for char in raw):
        raise BadPath("a control character, space or backslash in the path")
    segments = [ESCAPE.sub(_unescape_unreserved, segment) for segment in raw.split("/")]
    if any(segment in (".", "..") for segment in segments):
        raise BadPath("a '.' or '..' segment in the path (escaped or not)")
    return "/".join(segments)


def wsgi_raw_path(environ: dict) -> str:
    """The path a WSGI request was sent with, still escaped: the servers that run
    OpenStack APIs keep it (uwsgi and mod_wsgi in REQUEST_URI, gunicorn in RAW_URI,
    eventlet in RAW_PATH_INFO); otherwise PATH_INFO, decoded, escaped again."""
    for key in ("RAW_URI", "REQUEST_URI"):
        if environ.get(key):
            return environ[key].split("?", 1)[0]
    if environ.get("RAW_PATH_INFO"):
        return environ.get("SCRIPT_NAME", "") + environ["RAW_PATH_INFO"]
    return quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), safe="/:@!$&'()*+,;=-._~")


def split_token(value: str | None) -> tuple[str | None, str | None]:
    """``<token>!SCOPE!<scope>`` -> (token, scope); the PoC's wire format."""
    if not value or TOKEN_SCOPE_SEPARATOR not in value:
        return value, None
    token, scope = value.split(TOKEN_SCOPE_SEPARATOR, 1)
    return token, scope


def secret_matches(given: str, secret: str) -> bool:
    """Constant-time comparison of header text; any text (a header may carry
    bytes that are not ASCII) compares, as bytes, without raising."""
    if not given or not secret:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), secret.encode("utf-8", "surrogateescape"))


def split_service(path: str) -> tuple[str, str]:
    """A normalized path -> (its first segment, the rest as sent: '' or '/...')."""
    service, slash, tail = path[1:].partition("/")
    return service, slash + tail


def entry_scope(text: str | None, catalog, here: str, service: str, method: str, trusted: bool):
    """The scope of a request, as it enters at ``here`` for ``service``.

    From a peer (``trusted``: a peer interposer, or this DC's own for its
    services, which hold this DC's secret) the scope is
    canonical already and is only parsed. Otherwise it is normalized against
    the catalog (omitted services get ``here``, or follow the service the
    policy binds them to) and checked against the collaboration policy for
    this service and method. Raises ScopeError with the reason."""
    if trusted and text:
        return parse_canonical(text)
    scope = normalize(text, catalog, here, defaults=policy.default_expressions)
    policy.check(scope, service, method)
    return scope
