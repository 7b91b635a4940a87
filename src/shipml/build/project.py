"""Build a whole project: spec, base, lock, and one image per platform (an index for several)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shipml.build.base import (
    DEBIAN_EPOCH,
    Base,
    DebianBase,
    FileBase,
    RegistryBase,
    debian_image,
    debian_recipe,
    parse_base,
    target_for,
)
from shipml.build.builder import (
    BuildResult,
    Provenance,
    Reporter,
    Silent,
    build_image,
    cached_layer,
    shared_recipes,
    spec_digest,
    vcs_provenance,
)
from shipml.build.cache import LayerCache
from shipml.build.lock import (
    LOCK_FILENAME,
    Lock,
    check_base,
    lock_inputs,
    new_lock,
    read_lock,
    write_lock,
)
from shipml.build.recipes import model_paths
from shipml.errors import BuildError
from shipml.layers import source_date_epoch
from shipml.mutate import index_of
from shipml.oci.image import Image, ImageIndex
from shipml.oci.mediatypes import Compression
from shipml.oci.platform import Platform
from shipml.spec import Spec, load_spec

# Opens a base image on disk (an OCI layout or an oci-archive) for one platform; the CLI
# supplies it, since the build itself reads no stores or archives.
OpenBase = Callable[[FileBase | RegistryBase, Platform], Image]
# The flavor the server will load the spec's model with, for the labels, or None when unknown;
# the CLI supplies it, since a build never imports the runtime.
FlavorOf = Callable[[Spec], str | None]
DEFAULT_PLATFORM = Platform("linux", "amd64")


@dataclass(frozen=True, slots=True)
class ProjectBuild:
    """A finished build: the lock it used (and whether it was written now) and the image."""

    spec: Spec
    lock: Lock
    lock_written: bool
    results: tuple[BuildResult, ...]
    image: Image | ImageIndex


def base_images(
    base: Base,
    platforms: Sequence[Platform],
    *,
    cache: LayerCache,
    open_base: OpenBase,
    reporter: Reporter,
) -> dict[str, Image]:
    """The base image of each platform: the Debian one from the cache (built if missing)."""
    images: dict[str, Image] = {}
    for platform in platforms:
        if isinstance(base, DebianBase):
            built = cached_layer(debian_recipe(base, platform), cache,
                                 compression=Compression.GZIP, epoch=DEBIAN_EPOCH,
                                 reporter=reporter)
            image = debian_image(base, built.layer, platform)
        else:
            image = open_base(base, platform)
        config = image.config_file()
        if not config.platform.satisfies(platform):
            raise BuildError(
                f"base {base.name} is for {config.platform}, not {platform}",
                hint="use a base image for that platform (an index lists one per platform)",
            )
        images[str(platform)] = image
    return images


def ensure_lock(
    project: Path,
    spec: Spec,
    base: Base,
    bases: Mapping[str, Image],
    *,
    refresh: bool,
) -> tuple[Lock, bool]:
    """The project's lock: reused while its inputs match, else resolved and written anew.

    A refresh takes a new SOURCE_DATE_EPOCH; a re-resolve for changed inputs keeps the old one,
    so layers whose inputs did not change stay cached.
    """
    path = project / LOCK_FILENAME
    inputs = lock_inputs(project, spec, platforms=list(bases), base=base.name)
    existing = read_lock(path)
    if existing is not None and existing.inputs == inputs.signature() and not refresh:
        for name, image in bases.items():
            check_base(existing, name, image.digest())
        return existing, False
    targets = {
        name: target_for(base, spec, Platform.parse(name)) for name in bases
    }
    lock = new_lock(
        project,
        inputs,
        targets=targets,
        base_digests={name: image.digest() for name, image in bases.items()},
        epoch=None if existing is None or refresh else existing.source_date_epoch,
    )
    write_lock(path, lock)
    return lock, True


def build_project(
    project: Path,
    *,
    cache: LayerCache,
    open_base: OpenBase,
    platforms: Sequence[Platform] = (DEFAULT_PLATFORM,),
    compression: Compression = Compression.GZIP,
    reporter: Reporter | None = None,
    flavor_of: FlavorOf | None = None,
) -> ProjectBuild:
    """Build ``project`` for each platform; several platforms give an image index."""
    reporter = reporter or Silent()
    spec = load_spec(project)
    model_paths(project, spec)  # a missing model fails before any slow step
    base = parse_base(spec, project)
    bases = base_images(base, platforms, cache=cache, open_base=open_base, reporter=reporter)
    lock, written = ensure_lock(project, spec, base, bases, refresh=False)
    revision, source = vcs_provenance(project)
    provenance = Provenance(base.name, spec_digest=spec_digest(project),
                            flavor=flavor_of(spec) if flavor_of else None,
                            revision=revision, source=source)
    epoch = source_date_epoch(lock.source_date_epoch)
    shared = shared_recipes(project, spec, cache)
    results = tuple(
        build_image(
            spec,
            lock=lock,
            base=bases[str(platform)],
            target=target_for(base, spec, platform),
            shared=shared,
            cache=cache,
            provenance=provenance,
            epoch=epoch,
            compression=compression,
            reporter=reporter,
        )
        for platform in platforms
    )
    image: Image | ImageIndex = (
        results[0].image if len(results) == 1 else index_of(*(r.image for r in results))
    )
    return ProjectBuild(spec, lock, written, results, image)


def lock_project(
    project: Path,
    *,
    cache: LayerCache,
    open_base: OpenBase,
    platforms: Sequence[Platform] = (DEFAULT_PLATFORM,),
    reporter: Reporter | None = None,
) -> Lock:
    """Resolve and write the project's lock afresh (``shipml lock``)."""
    spec = load_spec(project)
    base = parse_base(spec, project)
    bases = base_images(base, platforms, cache=cache, open_base=open_base,
                        reporter=reporter or Silent())
    return ensure_lock(project, spec, base, bases, refresh=True)[0]
