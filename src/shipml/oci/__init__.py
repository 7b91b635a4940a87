"""The OCI vocabulary: digests, media types, descriptors, manifests, configs, platforms, protocols.

Standard library only and free of I/O, so every other package can speak it.
"""
