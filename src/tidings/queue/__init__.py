"""Durable work in the store: submit, lease, retry schedules, the generic worker loop."""
