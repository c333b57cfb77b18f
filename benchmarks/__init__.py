"""Benchmarks that compare the project's components on real data; each writes a section of docs/benchmarks.md."""
