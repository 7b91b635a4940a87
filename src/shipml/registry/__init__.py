"""The OCI distribution API: auth, credentials, an endpoint client, push and pull."""
