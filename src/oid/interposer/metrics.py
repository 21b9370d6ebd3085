"""Prometheus metrics of the interposer (prometheus_client's default registry).

Cardinality stays linear in the number of DCs, with a small factor: series
per location (and service, for the requests counter, for the pairs in use),
never per location and histogram bucket (at 1000 DCs that made a 1.8 MB
scrape): histograms are per service only; the breaker gauge has a series
only for breakers that are not closed.
"""

import functools

from prometheus_client import Counter, Gauge, Histogram, Summary

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

REQUESTS = Counter("oid_requests", "Requests answered, by service and HTTP status", ["service", "code"])
LATENCY = Histogram("oid_request_seconds", "Time to answer a request, by service", ["service"], buckets=BUCKETS)
# Upstream: this DC's own services (location = this DC) or another DC's
# interposer; a request to another location crosses the WAN link to it.
UPSTREAM_REQUESTS = Counter(
    "oid_upstream_requests", "Requests sent upstream, by service and location", ["service", "location"]
)
UPSTREAM_LATENCY = Histogram(
    "oid_upstream_seconds",
    "Time until an upstream location's response headers, by service",
    ["service"],
    buckets=BUCKETS,
)
# Per link: count and sum only, so the mean latency of each link is
# rate(sum)/rate(count), at two series per location.
LINK_LATENCY = Summary("oid_link_seconds", "Time until a location's response headers, by location", ["location"])
FAILURES = Counter("oid_upstream_failures", "Failed upstream calls, by location and reason", ["location", "reason"])
BREAKER = Gauge(
    "oid_breaker_state",
    "Breakers that are not closed, by location and service: 1 open, 2 half-open (closed ones have no series)",
    ["location", "service"],
)
PROBES = Counter("oid_probes", "Background probes of open breakers, by result", ["result"])
FANOUT_WIDTH = Histogram(
    "oid_fanout_locations", "Locations an '&' was sent to", buckets=(2, 3, 5, 10, 30, 100, 300, 1000)
)
FANOUT_MISSING = Counter(
    "oid_fanout_missing", "Locations missing from '&' answers (failed, skipped, past the deadline), by why", ["why"]
)


@functools.lru_cache(maxsize=16384)
def of_link(location: str, service: str):
    """The series a request to (location, service) updates, looked up once
    (prometheus_client's labels() takes a lock and builds a key per call:
    it was a tenth of the fan-out's own work at 1000 DCs)."""
    return (
        UPSTREAM_REQUESTS.labels(service=service, location=location),
        LINK_LATENCY.labels(location=location),
        UPSTREAM_LATENCY.labels(service=service),
    )


def breaker_state(location: str, service: str, state: int) -> None:
    if state:
        BREAKER.labels(location=location, service=service).set(state)
        return
    try:
        BREAKER.remove(location, service)
    except KeyError:
        pass  # it had no series
