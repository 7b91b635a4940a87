"""Local container engines (Podman, Docker) behind one small interface: move an image in, run it.

    base.py      the records (Publish, RunOptions, Container, State) and the Engine protocol
    cli.py       what the podman and docker command lines share
    podman.py    Podman: skopeo into containers-storage, else ``podman load``
    docker.py    Docker: ``docker load`` of a docker-archive
    detect.py    find an installed, working engine
    transfer.py  an image of the local store into the engine, skipped when already there
    ready.py     wait for /v2/health/ready, or say why the container never got there
"""
