"""Queries, one module per table family. Keyword-only functions that take a connection."""
