"""How busy this process's HTTP API is: requests in flight, counted where requests come in.

A process with role ``all`` serves the API and runs the delivery worker on one event loop,
and under load on one core. A client waits on its request; a delivery is queued by contract.
So while requests are waiting, the worker paces itself (``queue.worker``): a burst is
accepted at the API's speed and delivered behind it, and once the requests stop the worker
is back to its full concurrency.
"""

from __future__ import annotations

#: Requests in flight at which the API counts as busy. An idle or lightly used API has one or
#: two at a time; requests pile up in the loop only once it has no time left.
BUSY_AT = 4


class RequestLoad:
    __slots__ = ("busy_at", "in_flight")

    def __init__(self, busy_at: int = BUSY_AT) -> None:
        self.in_flight = 0
        self.busy_at = busy_at

    @property
    def busy(self) -> bool:
        return self.in_flight >= self.busy_at
