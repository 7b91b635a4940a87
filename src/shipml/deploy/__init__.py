"""Kubernetes: objects rendered from a spec, applied via the official client, rollouts followed."""
