"""Per-location health: a circuit breaker with exponential back-off.

A location that refused a connection or timed out is *open* (skipped by
``|``, reported at once by ``&``) for a back-off period; after it, one
request is let through as a probe (*half-open*): success closes the breaker,
failure reopens it for twice as long, up to a maximum.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

CLOSED, OPEN, HALF_OPEN = 0, 1, 2


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
        self._states: dict[str, _State] = {}

    def state(self, location: str) -> int:
        entry = self._states.get(location)
        if entry is None or entry.failures == 0:
            return CLOSED
        return OPEN if self.clock() < entry.open_until else HALF_OPEN

    def is_available(self, location: str) -> bool:
        """Whether a request may go to ``location`` now (one probe when half-open)."""
        entry = self._states.get(location)
        state = self.state(location)
        if state == CLOSED:
            return True
        if state == OPEN or entry.probing:
            return False
        entry.probing = True
        return True

    def succeeded(self, location: str) -> None:
        self._states.pop(location, None)

    def failed(self, location: str) -> None:
        entry = self._states.setdefault(location, _State())
        entry.failures += 1
        entry.probing = False
        backoff = min(self.initial * 2 ** (entry.failures - 1), self.maximum)
        entry.open_until = self.clock() + backoff

    def snapshot(self) -> dict[str, int]:
        return {location: self.state(location) for location in self._states}
