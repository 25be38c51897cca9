"""Benchmarks of tidings, run by ``make bench`` (``python -m bench [send|events]``).

Every figure is printed next to a reference measured in the same run on the same machine
(a bare ASGI app for sends, the server's own ``/healthz`` for the Events API), because the
machines these run on are small and shared: the ratios mean more than the absolute numbers.
Everything listens on 127.0.0.1 only, and every loop is bounded in count and in time.
"""
