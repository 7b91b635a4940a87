"""The shipml.yaml model: loading, defaults, environment overrides and validation messages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shipml.errors import SpecError

SPEC_FILENAME = "shipml.yaml"
# Kubernetes resource.Quantity: a decimal number with an optional binary/decimal suffix.
_QUANTITY = re.compile(r"^[+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_PREDICTOR = re.compile(r"^[\w./-]+\.py:[A-Za-z_]\w*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TensorDecl(_Strict):
    """One declared tensor: ``shape`` uses -1 for a variable dimension, the first is the batch."""

    name: str = Field(min_length=1)
    datatype: Literal[
        "BOOL",
        "UINT8",
        "UINT16",
        "UINT32",
        "UINT64",
        "INT8",
        "INT16",
        "INT32",
        "INT64",
        "FP16",
        "FP32",
        "FP64",
        "BYTES",
    ]
    shape: list[int] = Field(min_length=1)
    allow_nan: bool = False

    @field_validator("shape")
    @classmethod
    def _dims(cls, shape: list[int]) -> list[int]:
        if any(d == 0 or d < -1 for d in shape):
            raise ValueError("dimensions must be positive, or -1 for a variable dimension")
        return shape


class SignatureDecl(_Strict):
    """Inputs (and optionally outputs) declared in the spec, overriding what the model says."""

    inputs: list[TensorDecl] = Field(min_length=1)
    outputs: list[TensorDecl] = Field(default_factory=list)


class ModelSpec(_Strict):
    """Where the model is and how to load it."""

    path: str = Field(min_length=1)
    flavor: Literal["sklearn", "onnx", "xgboost", "lightgbm", "custom"] | None = None
    predictor: str | None = None
    signature: SignatureDecl | None = None

    @field_validator("predictor")
    @classmethod
    def _predictor_form(cls, v: str | None) -> str | None:
        if v is not None and not _PREDICTOR.match(v):
            raise ValueError("expected 'file.py:ClassName', e.g. 'predict.py:Predictor'")
        return v

    @model_validator(mode="after")
    def _custom_needs_predictor(self) -> ModelSpec:
        if self.flavor == "custom" and self.predictor is None:
            raise ValueError("flavor 'custom' needs 'predictor: file.py:ClassName'")
        if self.predictor is not None and self.flavor not in (None, "custom"):
            raise ValueError(
                f"'predictor' is for custom code; remove it or 'flavor: {self.flavor}'"
            )
        return self


class BatchingSpec(_Strict):
    """Adaptive batching: merge concurrent requests up to a size or a wait, whichever first."""

    max_batch_size: int = Field(default=64, ge=1, le=65536)
    max_latency_ms: float = Field(default=5.0, ge=0, le=60000)


class ServeSpec(_Strict):
    """How the server listens and protects itself."""

    port: int = Field(default=8080, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=256)
    batching: BatchingSpec = Field(default_factory=BatchingSpec)
    max_queue: int = Field(default=2048, ge=1)
    request_timeout_s: float = Field(default=30.0, gt=0)
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)


Quantity = Annotated[str, Field(pattern=_QUANTITY.pattern)]


def _number_as_text(v: Any) -> Any:
    """A YAML number (``1``, ``0.5``) as the string a text field holds; anything else as is."""
    return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v


class ResourceAmounts(_Strict):
    """CPU and memory as Kubernetes quantities ("500m", "1", "512Mi")."""

    cpu: Quantity | None = None
    memory: Quantity | None = None

    _numbers_as_text = field_validator("cpu", "memory", mode="before")(_number_as_text)


class ResourcesSpec(_Strict):
    """Container resources; ``gpu`` asks for that many ``nvidia.com/gpu``."""

    requests: ResourceAmounts = Field(
        default_factory=lambda: ResourceAmounts(cpu="500m", memory="512Mi")
    )
    limits: ResourceAmounts = Field(default_factory=lambda: ResourceAmounts(memory="1Gi"))
    gpu: int = Field(default=0, ge=0, le=16)


class ScalingSpec(_Strict):
    """Replicas and the autoscaling signal: CPU utilisation or in-flight requests per pod."""

    min_replicas: int = Field(default=1, ge=0)
    max_replicas: int = Field(default=3, ge=1)
    metric: Literal["cpu", "inflight"] = "cpu"
    target: int = Field(default=70, ge=1, description="CPU percent, or in-flight requests per pod")

    @model_validator(mode="after")
    def _ordered(self) -> ScalingSpec:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"min_replicas ({self.min_replicas}) exceeds max_replicas ({self.max_replicas})"
            )
        return self


_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_HOST = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _check_dns_label(v: str, why: str = "") -> str:
    """``v`` when it is a DNS label (RFC 1123), else a ValueError that ends with ``why``."""
    if not _NAME.match(v) or len(v) > 63:
        raise ValueError(
            f"expected a lowercase DNS label (a-z, 0-9, '-', at most 63 characters){why}"
        )
    return v


def _dns_label(v: str | None) -> str | None:
    """An optional name: None, or a DNS label."""
    return v if v is None else _check_dns_label(v)


class IngressSpec(_Strict):
    """An Ingress routing ``host`` and ``path`` to the Service; TLS when ``tls_secret`` is set."""

    host: str = Field(max_length=253)
    path: str = Field(default="/", pattern=r"^/")
    class_name: str | None = None
    tls_secret: str | None = None

    @field_validator("host")
    @classmethod
    def _host_form(cls, v: str) -> str:
        if not _HOST.match(v):
            raise ValueError("expected a lowercase DNS host name such as 'model.example.com'")
        return v


class TolerationSpec(_Strict):
    """A Kubernetes toleration, so pods may run on tainted (e.g. GPU) nodes."""

    key: str = Field(pattern=_LABEL_KEY.pattern)
    operator: Literal["Exists", "Equal"] = "Exists"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None

    @model_validator(mode="after")
    def _value_needs_equal(self) -> TolerationSpec:
        if (self.value is None) == (self.operator == "Equal"):
            raise ValueError("operator 'Equal' needs a 'value'; operator 'Exists' takes none")
        return self


class DeploySpec(_Strict):
    """Kubernetes placement: namespace, image pull secret, optional Ingress, node constraints."""

    namespace: str | None = None
    image_pull_secret: str | None = None
    ingress: IngressSpec | None = None
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[TolerationSpec] = Field(default_factory=list)

    _names = field_validator("namespace", "image_pull_secret")(_dns_label)

    @field_validator("node_selector")
    @classmethod
    def _selector_keys(cls, v: dict[str, str]) -> dict[str, str]:
        bad = [k for k in v if not _LABEL_KEY.match(k)]
        if bad:
            raise ValueError(f"not valid Kubernetes label keys: {', '.join(bad)}")
        return v


class Spec(_Strict):
    """A whole shipml.yaml."""

    name: str
    version: str = "0.1.0"
    model: ModelSpec
    python: Literal["3.10", "3.11", "3.12", "3.13"] = "3.11"
    requirements: list[str] | str = Field(default_factory=list)
    system_packages: list[str] = Field(default_factory=list)
    base: str | None = None
    serve: ServeSpec = Field(default_factory=ServeSpec)
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec)
    scaling: ScalingSpec = Field(default_factory=ScalingSpec)
    deploy: DeploySpec = Field(default_factory=DeploySpec)

    @field_validator("name")
    @classmethod
    def _dns_name(cls, v: str) -> str:
        return _check_dns_label(v, ", since it names the image and the Kubernetes objects")

    _version_text = field_validator("version", mode="before")(_number_as_text)

    @field_validator("python", mode="before")
    @classmethod
    def _python_text(cls, v: Any) -> Any:
        return f"{v:.2f}".rstrip("0") if isinstance(v, float) else v


# Documented environment overrides, applied by the server at start (e.g. `docker run -e`).
ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "SHIPML_PORT": ("serve", "port"),
    "SHIPML_WORKERS": ("serve", "workers"),
    "SHIPML_MAX_BATCH_SIZE": ("serve", "batching", "max_batch_size"),
    "SHIPML_MAX_LATENCY_MS": ("serve", "batching", "max_latency_ms"),
    "SHIPML_MAX_QUEUE": ("serve", "max_queue"),
    "SHIPML_REQUEST_TIMEOUT_S": ("serve", "request_timeout_s"),
    "SHIPML_MAX_BODY_BYTES": ("serve", "max_body_bytes"),
}


def _format_errors(source: str, err: ValidationError) -> str:
    lines = [f"{source} is not a valid shipml spec:"]
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see the shipml.yaml reference)"
        elif e["type"] == "missing":
            msg = "required field is missing"
        lines.append(f"  {where}: {msg}")
    return "\n".join(lines)


def parse_spec(data: Any, *, source: str = SPEC_FILENAME) -> Spec:
    """Validate already-parsed YAML/JSON data as a Spec; errors name ``source`` and the field."""
    if not isinstance(data, Mapping):
        raise SpecError(
            f"{source}: expected a mapping of keys at the top level, got {type(data).__name__}"
        )
    try:
        return Spec.model_validate(dict(data))
    except ValidationError as e:
        raise SpecError(_format_errors(source, e)) from None


def spec_path(project: Path) -> Path:
    """The spec file of a project directory (or the file itself when given one)."""
    return project if project.is_file() else project / SPEC_FILENAME


def load_spec(project: Path) -> Spec:
    """Read and validate the shipml.yaml of a project directory."""
    path = spec_path(project)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(
            f"{path}: no spec file", hint="run 'shipml init MODEL_FILE' to write one"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise SpecError(f"{path}: not valid YAML: {e}") from None
    return parse_spec(data, source=str(path))


def with_env_overrides(spec: Spec, env: Mapping[str, str]) -> Spec:
    """Return the spec with the documented SHIPML_* serve variables applied."""
    used = {k: v for k, v in env.items() if k in ENV_OVERRIDES}
    if not used:
        return spec
    data = spec.model_dump()
    for key, value in used.items():
        node = data
        *parents, leaf = ENV_OVERRIDES[key]
        for p in parents:
            node = node[p]
        node[leaf] = value
    return parse_spec(data, source="environment (" + ", ".join(sorted(used)) + ")")


def dump_spec(spec: Spec) -> str:
    """The spec as YAML, only the fields that differ from the defaults plus the required ones."""
    data = spec.model_dump(exclude_defaults=True)
    data = {"name": spec.name, "version": spec.version, **data}
    return yaml.safe_dump(data, sort_keys=False)
