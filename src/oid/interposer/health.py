"""Health of each (location, service): a circuit breaker with jittered back-off.

A key is a (location, service) pair: Glance down in Berlin must not make
Berlin's Nova look down, locally or to other DCs. A key whose link failed
(refused, timed out, reset, or no answer within an '&' deadline) is *open*:
skipped by ``|``, reported at once by ``&``, for a back-off period. When the
back-off ends the key is *half-open*: still skipped by users' requests,
waiting for the background prober (upstream.Prober) to try the link; its
success closes the breaker, its failure reopens it for about twice as long,
up to a maximum. No user's request is the probe, so none pays a connect
timeout for a location already known to be down (one did, at edge scale,
when the back-offs of 100 cut-off DCs ended together).

The back-off is jittered (between half and all of its nominal length):
breakers opened together by one partition do not all come due, and probe,
at the same instant.

Failures reported while the breaker is already open are the requests that
were in flight when the link broke: they do not lengthen the back-off (they
once doubled it per request, so a 7 s outage became a minute of "cut off").
A success from any request closes the breaker.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

CLOSED, OPEN, HALF_OPEN = 0, 1, 2
STATE_NAMES = {CLOSED: "closed", OPEN: "open", HALF_OPEN: "half-open"}


@dataclass
class _State:
    failures: int = 0
    open_until: float = 0.0
    probing: bool = False
    reason: str = ""


class Health:
    def __init__(self, initial: float, maximum: float, clock=time.monotonic, jitter=random.random):
        self.initial = initial
        self.maximum = maximum
        self.clock = clock
        self.jitter = jitter  # a number in [0, 1): where in the back-off's second half it ends
        self._states: dict[tuple[str, str], _State] = {}

    def state(self, key: tuple[str, str]) -> int:
        entry = self._states.get(key)
        if entry is None:
            return CLOSED
        return OPEN if self.clock() < entry.open_until else HALF_OPEN

    def is_available(self, key: tuple[str, str]) -> bool:
        """Whether a user's request may go to ``key`` now: only when closed."""
        return key not in self._states

    def succeeded(self, key: tuple[str, str]) -> bool:
        """Closes the breaker; whether it was not closed."""
        return self._states.pop(key, None) is not None

    def failed(self, key: tuple[str, str], reason: str = "") -> None:
        entry = self._states.setdefault(key, _State())
        now = self.clock()
        if entry.failures and now < entry.open_until:
            return  # already open: a request sent before it opened
        entry.failures += 1
        entry.probing = False
        entry.reason = reason or entry.reason
        nominal = min(self.initial * 2 ** (entry.failures - 1), self.maximum)
        entry.open_until = now + nominal * (0.5 + 0.5 * self.jitter())

    def due(self, limit: int) -> list[tuple[str, str]]:
        """Up to ``limit`` half-open keys no probe is trying yet, marked as being probed."""
        now = self.clock()
        keys = []
        for key, entry in self._states.items():
            if len(keys) >= limit:
                break
            if not entry.probing and now >= entry.open_until:
                entry.probing = True
                keys.append(key)
        return keys

    def probed(self, key: tuple[str, str], reason: str | None) -> None:
        """A background probe's verdict: None closes the breaker, a reason reopens it."""
        if reason is None:
            self.succeeded(key)
            return
        entry = self._states.get(key)
        if entry is not None:
            entry.probing = False
            self.failed(key, reason)

    def down(self) -> list[dict]:
        """The keys whose breaker is not closed, with why, for /healthz."""
        return [
            {
                "location": location,
                "service": service,
                "breaker": STATE_NAMES[self.state((location, service))],
                "reason": self._states[(location, service)].reason,
            }
            for location, service in sorted(self._states)
        ]

    def reason(self, key: tuple[str, str]) -> str:
        entry = self._states.get(key)
        return entry.reason if entry is not None else ""
