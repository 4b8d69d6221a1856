"""Benchmarks: ``python -m bench`` (see README). Not part of the test run."""
