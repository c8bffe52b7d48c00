"""Benchmarks of the hot paths; run with `make bench` and record the figures in docs/benchmarks.md."""
