"""Benchmarks (run with `make bench`); importable so tests can run them in tiny sizes."""
