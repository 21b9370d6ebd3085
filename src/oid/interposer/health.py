"""Health of each (location, service): a circuit breaker with exponential back-off.

A key is a (location, service) pair: Glance down in Berlin must not make
Berlin's Nova look down, locally or to other DCs. A key whose link failed
(refused, timed out, reset) is *open* (skipped by ``|``, reported at once by
``&``) for a back-off period; after it, one request is let through as a probe
(*half-open*): success closes the breaker, failure reopens it for twice as
long, up to a maximum.

Failures reported while the breaker is already open are the requests that
were in flight when the link broke: they do not lengthen the back-off (they
once doubled it per request, so a 7 s outage became a minute of "cut off").
A probe that ends without a verdict (the client left, the answer was not a
link failure nor a success) gives the probe back instead of holding the
breaker open for good.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

CLOSED, OPEN, HALF_OPEN = 0, 1, 2
STATE_NAMES = {CLOSED: "closed", OPEN: "open", HALF_OPEN: "half-open"}


@dataclass
class _State:
    failures: int = 0
    open_until: float = 0.0
    probing: bool = False


class Health:
    def __init__(self, initial: float, maximum: float, clock=time.monotonic):
        self.initial = initial
        self.maximum = maximum
        self.clock = clock
        self._states: dict[tuple[str, str], _State] = {}

    def state(self, key: tuple[str, str]) -> int:
        entry = self._states.get(key)
        if entry is None or entry.failures == 0:
            return CLOSED
        return OPEN if self.clock() < entry.open_until else HALF_OPEN

    def is_available(self, key: tuple[str, str]) -> bool:
        """Whether a request may go to ``key`` now (one probe when half-open)."""
        entry = self._states.get(key)
        state = self.state(key)
        if state == CLOSED:
            return True
        if state == OPEN or entry.probing:
            return False
        entry.probing = True
        return True

    def succeeded(self, key: tuple[str, str]) -> None:
        self._states.pop(key, None)

    def failed(self, key: tuple[str, str]) -> None:
        entry = self._states.setdefault(key, _State())
        if entry.failures and self.clock() < entry.open_until:
            return  # already open: a request sent before it opened
        entry.failures += 1
        entry.probing = False
        entry.open_until = self.clock() + min(self.initial * 2 ** (entry.failures - 1), self.maximum)

    def released(self, key: tuple[str, str]) -> None:
        """A request ended with no verdict on the link: a probe may be sent again."""
        entry = self._states.get(key)
        if entry is not None:
            entry.probing = False

    def down(self) -> list[dict]:
        """The keys whose breaker is not closed, for /healthz."""
        return [
            {"location": location, "service": service, "breaker": STATE_NAMES[self.state((location, service))]}
            for location, service in sorted(self._states)
            if self.state((location, service)) != CLOSED
        ]
