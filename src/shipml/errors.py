"""The one error tree of shipml; every error says what went wrong and what to do.

    ShipmlError                 base: ``message`` (+ optional ``hint``), ``exit_code`` for the CLI
    ├── SpecError               shipml.yaml is missing or invalid (file, field path, expected)
    ├── ModelError              a model file cannot be recognised, loaded or run
    │   └── SignatureError      a declared or detected input signature is inconsistent
    ├── RequestError            an inference request is wrong (carries the HTTP ``status``)
    ├── BuildError              an image cannot be built (lock, base, layers)
    ├── FormatError             a digest, manifest, config or archive breaks the OCI specs
    ├── StoreError              the local image store cannot read or write
    │   ├── NotFoundError       a reference or blob is not in the store
    │   └── DigestMismatchError content does not hash to the digest it claims
    ├── RegistryError           a registry refused or failed (``temporary``: worth retrying)
    │   └── AuthError           credentials missing or refused
    ├── EngineError             no local container engine, or it failed to run an image
    └── DeployError             Kubernetes refused the objects or the rollout failed

Foreign exceptions are translated where they occur, with ``raise ... from``, so callers
only ever catch this tree.
"""

from __future__ import annotations


class ShipmlError(Exception):
    """Base of every error shipml raises on purpose; ``str()`` is the user-facing message."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class SpecError(ShipmlError):
    """shipml.yaml is missing or does not validate."""

    exit_code = 2


class ModelError(ShipmlError):
    """A model file cannot be recognised, loaded or run."""

    exit_code = 3


class SignatureError(ModelError):
    """An input/output signature is inconsistent with the model or with itself."""


class RequestError(ShipmlError):
    """An inference request is malformed or cannot be served now; ``status`` is its HTTP code."""

    def __init__(self, message: str, *, status: int = 400, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class BuildError(ShipmlError):
    """An image cannot be built: locking, base image, layers."""

    exit_code = 4


class FormatError(ShipmlError):
    """A digest, platform, manifest, index, config or archive does not follow the OCI specs."""

    exit_code = 9


class StoreError(ShipmlError):
    """The local image store cannot read or write."""

    exit_code = 5


class NotFoundError(StoreError):
    """A reference or blob is not present."""


class DigestMismatchError(StoreError):
    """Content does not hash to the digest it claims; nothing was written."""


class RegistryError(ShipmlError):
    """A registry refused or failed a request; ``temporary`` says a retry may succeed."""

    exit_code = 6

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        status: int | None = None,
        temporary: bool = False,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.temporary = temporary


class AuthError(RegistryError):
    """Credentials are missing or were refused by the registry."""


class EngineError(ShipmlError):
    """No local container engine was found, or it failed to run an image."""

    exit_code = 7


class DeployError(ShipmlError):
    """Kubernetes refused the objects, or the rollout did not become ready."""

    exit_code = 8
