"""Image references (``[registry/]repository[:tag][@digest]``) by the distribution grammar.

The grammar and the normalisation follow distribution's ``reference/regexp.go`` and
``reference/normalize.go``: a first path component is a registry only when it holds a ``.`` or a
``:`` or is ``localhost``; otherwise the registry is Docker Hub, where one-component names live
under ``library/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from shipml.errors import FormatError
from shipml.oci.digest import Digest

DEFAULT_REGISTRY = "docker.io"
DEFAULT_TAG = "latest"
# normalize.go: the legacy Docker Hub names all mean docker.io.
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_MAX_NAME = 255

# regexp.go: domain-component, optional port; IPv6 literals in brackets.
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_DOMAIN = re.compile(rf"^{_HOST}(?::[0-9]+)?$")
# regexp.go: path-component := alpha-numeric (separator alpha-numeric)*, separator := [_.]|__|[-]+
_PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$", re.ASCII)


@dataclass(frozen=True, slots=True)
class Reference:
    """A normalised, validated image reference; at least one of ``tag`` and ``digest`` is set."""

    registry: str
    repository: str
    tag: str | None = None
    digest: Digest | None = None

    def __post_init__(self) -> None:
        text = str(self)
        if not _DOMAIN.match(self.registry):
            raise FormatError(f"image reference {text!r}: invalid registry {self.registry!r}")
        _check_repository(text, self.repository)
        if self.tag is not None and not _TAG.match(self.tag):
            raise FormatError(
                f"image reference {text!r}: invalid tag {self.tag!r}",
                hint="a tag is up to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'",
            )
        if self.tag is None and self.digest is None:
            raise FormatError(f"image reference {text!r} has neither a tag nor a digest")
        if len(self.name) > _MAX_NAME:
            raise FormatError(f"image reference {text!r}: name longer than {_MAX_NAME} characters")

    @classmethod
    def parse(cls, text: str) -> Reference:
        """Parse and normalise ``text``; a reference with neither tag nor digest gets ``latest``."""
        return parse_reference(text)

    @property
    def name(self) -> str:
        """``registry/repository``, the part before the tag."""
        return f"{self.registry}/{self.repository}"

    @property
    def identifier(self) -> str:
        """What the manifest endpoint takes: the digest when pinned, else the tag."""
        return str(self.digest) if self.digest is not None else str(self.tag)

    def with_tag(self, tag: str) -> Reference:
        """The same repository at ``tag``, without a digest."""
        return replace(self, tag=tag, digest=None)

    def with_digest(self, digest: Digest) -> Reference:
        """The same repository pinned to ``digest`` (a tag is kept as a label)."""
        return replace(self, digest=digest)

    def familiar(self) -> str:
        """The short form people type: ``ubuntu:22.04`` rather than ``docker.io/library/...``."""
        name = self.name
        if self.registry == DEFAULT_REGISTRY:
            name = self.repository
            if name.startswith("library/") and name.count("/") == 1:
                name = name.removeprefix("library/")
        return name + self._suffix()

    def _suffix(self) -> str:
        tag = f":{self.tag}" if self.tag is not None else ""
        return tag + (f"@{self.digest}" if self.digest is not None else "")

    def __str__(self) -> str:
        return self.name + self._suffix()


def parse_reference(text: str) -> Reference:
    """Parse ``[registry/]repository[:tag][@digest]``; a FormatError says which part is wrong."""
    if not text or text != text.strip():
        raise FormatError(f"invalid image reference {text!r}", hint="expected e.g. repo/name:tag")
    rest, at, digest_text = text.partition("@")
    digest = _parse_digest(text, digest_text) if at else None
    # The tag colon is the last one after the last slash; an earlier one is a registry port.
    tag: str | None = None
    if rest.rfind(":") > rest.rfind("/"):
        rest, _, tag = rest.rpartition(":")
    registry, repository = _split_registry(rest)
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return Reference(registry, repository, tag, digest)


def names_registry(text: str) -> bool:
    """Whether ``text`` spells out its registry (``r.io/app``, ``localhost:5000/app``), rather
    than leaving Docker Hub implied (``app``, ``team/app``)."""
    first, slash, _ = text.partition("/")
    return bool(slash) and (any(c in first for c in ".:") or first == "localhost")


def _split_registry(name: str) -> tuple[str, str]:
    first, slash, remainder = name.partition("/")
    # normalize.go splitDockerDomain: a first component is a host only with '.', ':' or
    # uppercase letters in it, or when it is 'localhost'.
    is_host = bool(slash) and (
        any(c in first for c in ".:") or first == "localhost" or first != first.lower()
    )
    if is_host and first not in _HUB_ALIASES:
        return first, remainder
    repository = remainder if is_host else name
    if "/" not in repository:
        repository = f"library/{repository}"
    return DEFAULT_REGISTRY, repository


def _check_repository(text: str, repository: str) -> None:
    for component in repository.split("/"):
        if _PATH_COMPONENT.match(component):
            continue
        if _PATH_COMPONENT.match(component.lower()):
            raise FormatError(
                f"image reference {text!r}: repository name must be lowercase",
                hint=f"use {repository.lower()!r}",
            )
        raise FormatError(
            f"image reference {text!r}: invalid repository component {component!r}",
            hint="components are lowercase letters and digits joined by '.', '_', '__' or '-'",
        )


def _parse_digest(text: str, digest_text: str) -> Digest:
    try:
        return Digest.parse(digest_text)
    except FormatError as e:
        raise FormatError(f"image reference {text!r}: {e.message}", hint=e.hint) from e
