"""Helpers shipped for tests and benchmarks: random images, validation, a local registry."""
