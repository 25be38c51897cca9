"""Handing messages to a transport and recording the outcome."""
