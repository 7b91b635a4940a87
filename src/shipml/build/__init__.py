"""Spec to image without a container engine: lock, base, layer recipes, cache, builder.

``build_project(dir, cache=..., open_base=...)`` is the whole build; ``lock_project`` refreshes
shipml.lock. Both take the base image from the caller when it lives on disk (see ``project``).
"""
