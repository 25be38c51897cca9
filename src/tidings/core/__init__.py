"""Mailgun vocabulary, the frozen records passed between layers, ids and the clock. No I/O."""
