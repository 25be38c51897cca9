"""Helpers shared by the test suite: real local servers that stand in for the outside world."""
