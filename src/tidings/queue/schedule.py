"""Retry delays and giving up, as data."""

from __future__ import annotations

# Seconds to wait after the n-th temporary failure (n = 1, 2, ...). Mailgun retries soft
# failures for about eight hours with growing gaps; after the last entry we give up.
DELIVERY_RETRIES: tuple[int, ...] = (60, 300, 600, 1200, 1800, 3600, 7200, 14400)


def retry_delay(attempts: int, table: tuple[int, ...] = DELIVERY_RETRIES) -> int | None:
    """Seconds until the next try after ``attempts`` failed tries, or None to give up."""
    if attempts < 1 or attempts > len(table):
        return None
    return table[attempts - 1]
