"""Move an image of the local store into an engine, without a registry; skipped when it is there.

Images from a registry are pulled into the store first (``shipml.registry.pull``), so they
arrive here the same way: verified blob by blob, with shipml's credentials and insecure-registry
rules, and without configuring the engine for the registry.
"""

from __future__ import annotations

from dataclasses import dataclass

from shipml.engines.base import Engine, ImageSource
from shipml.layout import Store
from shipml.oci.config import ImageConfig
from shipml.oci.descriptor import REF_NAME, Descriptor
from shipml.oci.image import Image, image_for_platform
from shipml.oci.platform import Platform
from shipml.oci.reference import Reference
from shipml.registry.pull import host_platform


@dataclass(frozen=True, slots=True)
class EngineImage:
    """An image the engine holds: its ID, the name it goes by there, and its config."""

    id: str
    name: str
    config: ImageConfig
    loaded: bool  # False when the engine already had it


def engine_name(ref: Reference | None, image: Image) -> str:
    """The image's name in the engine: its reference, else one made from its digest."""
    if ref is not None and ref.tag is not None:
        return str(ref.with_tag(ref.tag))
    return f"localhost/shipml-image:{image.digest().encoded[:12]}"


def ensure_image(
    engine: Engine, store: Store, text: str, *, platform: Platform | None = None,
    descriptor: Descriptor | None = None,
) -> EngineImage:
    """The store's image ``text`` (for ``platform``, default the host's) inside ``engine``;
    ``descriptor`` is ``store.resolve(text)`` when the caller has it already."""
    if descriptor is None:
        descriptor = store.resolve(text)
    stored = store.load(descriptor)
    image = stored if isinstance(stored, Image) else (
        image_for_platform(stored, platform or host_platform())
    )
    ref_name = descriptor.annotations.get(REF_NAME)
    name = engine_name(Reference.parse(ref_name) if ref_name else None, image)
    # Both engines name an image by its config digest's hex, before and after a load.
    config_id = image.manifest().config.digest.encoded
    config = image.config_file()
    if engine.image_id(config_id) == config_id:
        return EngineImage(config_id, name, config, loaded=False)
    # skopeo resolves oci:DIR:NAME by the ref name alone; DIR must not hold a colon.
    layout = None
    if ref_name and ":" not in str(store.root) and isinstance(stored, Image):
        layout = f"oci:{store.root}:{ref_name}"
    engine.load(ImageSource(image, name, layout))
    return EngineImage(config_id, name, config, loaded=True)
