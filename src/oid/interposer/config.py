"""Configuration of one interposer, and the routing view of the inter-DC catalog."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml

from oid.interposer.trust import PeerTLS
from oid.interposer.trust import log as trust_log
from oid.scope import Catalog, ScopeError

# Path prefixes the interposer serves, one per service type.
SERVICE_PREFIXES = ("identity", "compute", "image", "network", "placement", "volume")


# This interposer's account at its own Keystone (keystone_account; validation.py).
ACCOUNT_KEYS = ("auth_url", "username", "password", "project_name", "user_domain_name", "project_domain_name")


class ConfigError(Exception):
    """A configuration the interposer cannot start with."""


@dataclass
class Settings:
    location: str
    catalog_file: str
    host: str = "0.0.0.0"
    port: int = 8790
    # What this interposer sends its own DC's API services, whose paste filters
    # trust internal headers only with it: this DC's alone, it never leaves it.
    federation_secret: str = field(default="", repr=False)
    # Mutual TLS between interposers (trust.py): peers enter on a port of their
    # own, known by their certificate. None: no peers (a catalog of this DC alone).
    peer_tls: PeerTLS | None = None
    connect_timeout: float = 2.0
    read_timeout: float = 600.0
    # A partition on a connection already open (pooled) shows no connect
    # timeout: the kernel drops a connection whose sent data stays
    # unacknowledged, or whose keepalive probes go unanswered, this long.
    unacked_timeout: float = 5.0
    max_hops: int = 4
    max_fanout: int = 1000
    # Each location has a pool of its own (a DC that never answers fills only
    # its own); a request waits at most pool_timeout for a free connection.
    max_connections_per_location: int = 100
    pool_timeout: float = 10.0
    max_json_bytes: int = 16 * 1024 * 1024
    # A body sent to several locations, or that '|' may send again, is held:
    # in memory up to 1 MiB, beyond that in an unlinked file of spool_directory
    # (default: the temporary directory), up to max_replay_bytes.
    max_replay_bytes: int = 64 * 1024 * 1024 * 1024
    spool_directory: str | None = None
    # What an error report shows of a failed branch's body, at most.
    max_error_detail: int = 2000
    backoff_initial: float = 2.0
    backoff_max: float = 60.0
    # A background probe of a half-open breaker gets at most this long.
    probe_timeout: float = 5.0
    # Every '&' has a deadline: a branch with no answer by then counts as
    # failed (and opens its breaker), so one DC that accepts and never answers
    # does not hold every '&' for the read timeout. Uploads held in a spool
    # file (past 1 MiB) are not bound by it: sending them takes what it takes.
    fanout_deadline: float = 30.0
    shutdown_timeout: float = 30.0
    # This interposer's account at its own DC's Keystone (validation.py): with
    # it, peers' services validate this DC's tokens here. Never another DC's.
    keystone_account: dict | None = field(default=None, repr=False)
    # Validations a peer may ask per second (bursts of twice that); how long a
    # positive answer is reused at most (keystonemiddleware's token_cache_time).
    validation_rate: float = 50.0
    validation_cache_seconds: float = 300.0


def load_settings(path: str) -> Settings:
    """Read the interposer's YAML configuration file (see docs/interposer.md)."""
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    known = set(Settings.__dataclass_fields__) - {"peer_tls", "keystone_account"}
    known |= {"listen", "federation_secret_file", "catalog", "backoff", "peer_listen", "tls", "keystone_account"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown keys {', '.join(unknown)}")
    for key in ("location", "catalog"):
        if not data.get(key):
            raise ConfigError(f"{path}: '{key}' is required")
    listen = data.get("listen") or {}
    backoff = data.get("backoff") or {}
    secret = data.get("federation_secret", "")
    if data.get("federation_secret_file"):
        try:
            secret = Path(data["federation_secret_file"]).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the federation secret: {exc}") from None
    if len(secret) < 16:
        raise ConfigError(f"{path}: the federation secret must have at least 16 characters")
    base = Path(path).parent
    catalog_file = str((base / data["catalog"]).resolve())
    peer_tls = load_peer_tls(path, base, data)
    try:
        account = load_account(path, data.get("keystone_account"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    settings = Settings(
        location=data["location"],
        catalog_file=catalog_file,
        host=listen.get("host", Settings.host),
        port=int(listen.get("port", Settings.port)),
        federation_secret=secret,
        peer_tls=peer_tls,
        keystone_account=account,
        backoff_initial=float(backoff.get("initial", Settings.backoff_initial)),
        backoff_max=float(backoff.get("max", Settings.backoff_max)),
        spool_directory=data.get("spool_directory"),
        **{
            key: type(getattr(Settings, key))(data[key])
            for key in (
                "connect_timeout",
                "read_timeout",
                "unacked_timeout",
                "max_hops",
                "max_fanout",
                "max_connections_per_location",
                "pool_timeout",
                "max_json_bytes",
                "max_replay_bytes",
                "max_error_detail",
                "shutdown_timeout",
                "probe_timeout",
                "fanout_deadline",
                "validation_rate",
                "validation_cache_seconds",
            )
            if key in data
        },
    )
    return settings


def load_account(path: str, data: dict | None) -> dict | None:
    """``keystone_account`` of the configuration: the keys of ACCOUNT_KEYS, the
    password inline or in ``password_file``; None if absent."""
    if not data:
        return None
    if not isinstance(data, dict):
        raise ValueError("keystone_account: a mapping")
    account = {"project_name": "service", "user_domain_name": "Default", "project_domain_name": "Default", **data}
    if account.get("password_file"):
        account["password"] = Path(account.pop("password_file")).read_text().strip()
    missing = [key for key in ACCOUNT_KEYS if not account.get(key)]
    unknown = sorted(set(account) - set(ACCOUNT_KEYS))
    if missing or unknown:
        raise ValueError(f"keystone_account: missing {missing}, unknown {unknown}")
    return account


def load_peer_tls(path: str, base: Path, data: dict) -> PeerTLS | None:
    """``tls: {ca_file, cert_file, key_file, crl_file}`` (the CA's revocation
    list optional) and ``peer_listen: {host, port}``: both, or neither for an
    interposer whose catalog has no other DC (checked with the catalog,
    Routes.require_peer_tls). The files are checked now (a bad key is an error
    at start, not at the first peer's connection); a certificate its peers
    would refuse (expired, revoked) is logged, and the interposer still serves
    its own DC."""
    tls, listen = data.get("tls"), data.get("peer_listen")
    if not tls and not listen:
        return None
    if not isinstance(tls, dict) or not isinstance(listen, dict):
        raise ConfigError(f"{path}: 'tls' and 'peer_listen' go together (mutual TLS between interposers)")
    required = ("ca_file", "cert_file", "key_file")
    missing = [key for key in required if not tls.get(key)]
    unknown = sorted(set(tls) - {*required, "crl_file"})
    if missing or unknown:
        raise ConfigError(
            f"{path}: 'tls' needs ca_file, cert_file and key_file, crl_file is optional"
            f" (missing: {missing}, unknown: {unknown})"
        )
    files = {key: str((base / tls[key]).resolve()) for key in (*required, "crl_file") if tls.get(key)}
    peer_tls = PeerTLS(**files, host=listen.get("host", PeerTLS.host), port=int(listen.get("port", PeerTLS.port)))
    try:
        peer_tls.server_context()
        peer_tls.client_context()
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise ConfigError(f"{path}: cannot use the TLS files {files}: {exc}") from None
    try:
        peer_tls.check_own_certificate(data["location"])
    except ValueError as exc:
        trust_log.error("other DCs will refuse this one: %s (site.yml --tags trust makes a new certificate)", exc)
    return peer_tls


class Routes:
    """Where each location's services are, as the interposer sees them."""

    def __init__(self, catalog: Catalog, here: str):
        """Other DCs are reached at their 'peer' URL (https, mutual TLS); their
        'interposer' URL is what their links name."""
        self.catalog = catalog
        try:
            self.here = catalog.resolve(here)
        except ScopeError as exc:
            raise ConfigError(f"this interposer's location is not in the catalog: {exc.message}") from None
        for name, site in catalog.sites.items():
            if name == self.here:
                continue
            if not site.extra.get("interposer"):
                raise ConfigError(f"catalog location {name!r} has no 'interposer' URL")
            if not str(site.extra.get("peer", "")).startswith("https://"):
                raise ConfigError(f"catalog location {name!r} has no 'peer' URL (https://...): peers speak mutual TLS")

    @classmethod
    def load(cls, settings: Settings) -> Routes:
        try:
            catalog = Catalog.from_file(settings.catalog_file)
        except (OSError, ScopeError) as exc:
            raise ConfigError(f"catalog {settings.catalog_file}: {exc}") from None
        routes = cls(catalog, settings.location)
        routes.require_peer_tls(settings)
        return routes

    def require_peer_tls(self, settings: Settings) -> None:
        """Interposers know each other by their certificates only: with other DCs
        in the catalog, this one needs its own (there is no other way to be a peer)."""
        others = [name for name in self.catalog.sites if name != self.here]
        if others and settings.peer_tls is None:
            shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
            raise ConfigError(
                f"the catalog has other DCs ({shown}) and this interposer has no 'tls': "
                "interposers authenticate each other with mutual TLS only (docs/identity.md)"
            )

    def local_endpoint(self, service: str) -> str | None:
        url = self.catalog.sites[self.here].services.get(service)
        return url.rstrip("/") if url else None

    def interposer(self, location: str) -> str:
        """The URL of ``location``'s interposer that its answers' links name."""
        return self.catalog.sites[location].extra["interposer"].rstrip("/")

    def peer(self, location: str) -> str:
        """Where this interposer sends requests for another DC: its peer port."""
        return self.catalog.sites[location].extra["peer"].rstrip("/")

    def own_url(self, request) -> str:
        """This interposer's URL, as the catalog gives it: links in answers point
        there, whatever Host the client sent. Without one in the catalog (a DC
        alone), the address the request reached."""
        own = self.catalog.sites[self.here].extra.get("interposer")
        if own:
            return own.rstrip("/")
        return f"{request.scheme}://{request.transport.get_extra_info('sockname')[0]}:{request.url.port}"

    def connect_timeout(self, location: str, default: float) -> float:
        return float(self.catalog.sites[location].extra.get("connect_timeout", default))

    def upstream_bases(self, service: str, scoped: bool = False) -> dict[str, str]:
        """Every URL prefix an answer for ``service`` may carry that must be
        rewritten to this interposer, with the path it becomes under this
        interposer's own URL: the local endpoint and the other interposers'
        prefixes of ``service``. Keystone's answers carry catalogs, which list
        the other services at the interposer of the Keystone's own DC (a token
        of Denver's, asked for through Berlin): for identity, every other
        interposer's URL becomes this one's, so the client keeps entering here.
        ``scoped`` (a request with its scope in the path, /scope/<scope>/...):
        this interposer's own URLs too, so that the client, which has the scope
        only in its URL, keeps entering with it (a token's catalog lists this
        DC's services at this interposer)."""
        interposers = [
            self.interposer(name)
            for name, site in self.catalog.sites.items()
            if name != self.here or (scoped and site.extra.get("interposer"))
        ]
        bases = {url + "/" + service: "/" + service for url in interposers}
        if service == "identity":
            bases.update({url: "" for url in interposers})
        local = self.local_endpoint(service)
        if local:
            bases[local] = "/" + service
        return bases

    def rewriter(self, service: str, scoped: bool = False) -> UrlRewriter:
        """The rewriter of ``service``'s answers, built once per catalog (a
        reload makes new Routes): every answer of an '&' over hundreds of
        locations uses it. ``scoped``: for a request whose path carries its
        scope (/scope/<scope>/...), whose links must keep it."""
        return self._rewriters[scoped][service]

    @cached_property
    def _rewriters(self) -> dict[bool, dict[str, UrlRewriter]]:
        return {
            scoped: {service: UrlRewriter(self.upstream_bases(service, scoped)) for service in SERVICE_PREFIXES}
            for scoped in (False, True)
        }


# The keys under which OpenStack APIs put links: Nova, Neutron, Placement and
# Glance's version documents {"rel", "href"}; Keystone's {"self", "next",
# "previous"}, and its catalog's endpoint "url" (the local Keystone's own URL
# becomes this interposer's /identity, so clients keep coming through it);
# Glance's "first"/"next" (relative, so left as they are).
LINK_KEYS = frozenset(("href", "self", "next", "previous", "first", "last", "url"))
ORIGIN = re.compile(rb"https?://[^/?#\"\s]+")
ORIGIN_END = re.compile(r"[/?#]")
BOUNDARY = ("/", "?", "#")


def origin_of(url: str) -> str:
    """``http://host:port/path`` -> ``http://host:port``."""
    end = ORIGIN_END.search(url, url.find("://") + 3)
    return url if end is None else url[: end.start()]


class UrlRewriter:
    """Replaces upstream URL prefixes by this interposer's own. The prefixes
    are grouped by origin, so a string costs one dict lookup whatever the
    number of locations (a scan over every prefix made an '&' over N
    locations cost N² string comparisons)."""

    def __init__(self, bases: dict[str, str] | list[str]):
        """``bases``: each prefix and the path it becomes under the URL given to
        url() and rewrite() (a list: each becomes that URL itself)."""
        if not isinstance(bases, dict):
            bases = dict.fromkeys(bases, "")
        self.tails = bases
        self.by_origin: dict[str, list[str]] = {}
        for base in sorted(bases, key=len, reverse=True):  # longest first: no partial rewrite
            self.by_origin.setdefault(origin_of(base), []).append(base)
        self._origins = {origin.encode() for origin in self.by_origin}

    def mentions(self, raw: bytes) -> bool:
        """Whether a body carries any upstream URL (if not, it is relayed as is)."""
        return any(match.group() in self._origins for match in ORIGIN.finditer(raw))

    def url(self, value: str, own: str) -> str:
        if not value.startswith(("http://", "https://")):
            return value
        for base in self.by_origin.get(origin_of(value), ()):
            # A whole prefix only: .../compute is not a prefix of .../computers.
            if value.startswith(base) and (len(value) == len(base) or value[len(base)] in BOUNDARY):
                return own + self.tails[base] + value[len(base) :]
        return value

    def rewrite(self, value, own: str, key: str | None = None):
        """Upstream URLs of links in a JSON value rewritten to ``own``: strings
        under a link key only (a server *named* like a URL is data, not a link)."""
        if isinstance(value, str):
            return self.url(value, own) if key in LINK_KEYS else value
        if isinstance(value, list):
            return [self.rewrite(item, own, key) for item in value]
        if isinstance(value, dict):
            return {name: self.rewrite(item, own, name) for name, item in value.items()}
        return value
