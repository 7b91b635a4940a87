"""Opening a build's base: on disk (``oci:DIR[:TAG]``, ``oci-archive:FILE``) or in a registry."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack

from shipml.archive import OciArchive
from shipml.build.base import FileBase, RegistryBase
from shipml.build.project import OpenBase
from shipml.cli.registry_options import registry_base
from shipml.errors import BuildError, ShipmlError
from shipml.layout import Store
from shipml.oci.image import Image, image_for_platform
from shipml.oci.platform import Platform


def base_opener(
    stack: ExitStack, *, pull_into: Store | None = None, insecure: Sequence[str] = ()
) -> OpenBase:
    """An OpenBase whose archives stay open (their blobs are read late) until ``stack`` closes.

    A registry base is pulled into ``pull_into`` (default: the user's store) once, then read
    from there.
    """

    def open_base(base: FileBase | RegistryBase, platform: Platform) -> Image:
        if isinstance(base, RegistryBase):
            images = pull_into or Store.open()
            return registry_base(base.name, images, platform=platform, insecure=insecure)
        try:
            if base.transport == "oci-archive":
                found = stack.enter_context(OciArchive(base.path)).open(base.tag)
            else:
                store = Store(base.path)
                if base.tag is not None:
                    found = store.load(store.resolve(base.tag))
                else:
                    refs = store.refs()
                    if len(refs) != 1:
                        raise BuildError(f"{base.path} holds {len(refs)} images",
                                         hint="name one: base: oci:DIR:TAG")
                    found = store.load(refs[0].descriptor)
            image = found if isinstance(found, Image) else image_for_platform(found, platform)
            image.config_file()  # read and verify it now, so a broken base fails here
        except BuildError:
            raise
        except ShipmlError as e:
            raise BuildError(
                f"base image {base.transport}:{base.path} cannot be used: {e.message}",
                hint=e.hint or "point shipml.yaml's base at a valid OCI image layout or archive",
            ) from e
        return image

    return open_base
