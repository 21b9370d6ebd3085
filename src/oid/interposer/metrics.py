"""Prometheus metrics of the interposer (prometheus_client's default registry)."""

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("oid_requests", "Requests answered, by service and HTTP status", ["service", "code"])
LATENCY = Histogram(
    "oid_request_seconds",
    "Time to answer a request, by service",
    ["service"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
# Upstream: this DC's own services (location = this DC) or another DC's
# interposer; a request to another location crosses the WAN link to it.
UPSTREAM_REQUESTS = Counter(
    "oid_upstream_requests", "Requests sent upstream, by service and location", ["service", "location"]
)
UPSTREAM_LATENCY = Histogram(
    "oid_upstream_seconds",
    "Time until an upstream location's response headers, by service and location",
    ["service", "location"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
FAILURES = Counter(
    "oid_upstream_failures", "Failed upstream calls, by service, location and reason", ["service", "location", "reason"]
)
BREAKER = Gauge(
    "oid_breaker_state", "Breaker of each location and service: 0 closed, 1 open, 2 half-open", ["location", "service"]
)
