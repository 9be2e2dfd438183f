"""The model manifest ``model.json``: how the device finds, verifies and feeds a model.

A runtime loads a model only through its manifest and refuses a file whose SHA-256
differs from the one recorded, so a swapped or corrupt file never runs silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_runtime.contract import InputSpec
from edge_runtime.errors import InputContractError, ModelError
from edge_runtime.integrity import sha256
from edge_runtime.qtyping import Variant

MANIFEST_FORMAT = "harlite-model"
MANIFEST_SCHEMA = 1


@dataclass(frozen=True)
class TensorInfo:
    """Shape, dtype and affine quantisation (scale 0 = not quantised) of a model tensor."""

    shape: tuple[int, ...]
    dtype: str
    scale: float = 0.0
    zero_point: int = 0

    @property
    def quantized(self) -> bool:
        """Whether values are stored as int8/uint8 with an affine scale."""
        return self.dtype in ("int8", "uint8") and self.scale > 0

    def to_dict(self) -> dict[str, Any]:
        """The manifest's JSON form."""
        return {"shape": list(self.shape), "dtype": self.dtype,
                "quantization": {"scale": self.scale, "zero_point": self.zero_point}}

    @classmethod
    def from_dict(cls, d: Any) -> TensorInfo:
        """Inverse of :meth:`to_dict`; raises KeyError/TypeError/ValueError on a bad entry."""
        q = d.get("quantization") or {}
        return cls(tuple(int(v) for v in d["shape"]), str(d["dtype"]), float(q.get("scale", 0.0)),
                   int(q.get("zero_point", 0)))


@dataclass(frozen=True)
class ModelFile:
    """One converted file of a model: variant name, file name, hash and size."""

    variant: Variant
    file: str
    sha256: str
    bytes: int
    input: TensorInfo
    output: TensorInfo


@dataclass(frozen=True)
class Manifest:
    """A parsed ``model.json``; ``directory`` is where the model files live."""

    directory: Path
    model_id: str
    default_variant: Variant
    files: dict[Variant, ModelFile]
    labels: tuple[str, ...]
    input_spec: InputSpec
    training: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)

    def file(self, variant: str | None = None) -> ModelFile:
        """The entry of ``variant`` (default: the manifest's default, normally int8)."""
        name = variant or self.default_variant
        try:
            return self.files[Variant(name)]
        except (KeyError, ValueError):
            raise ModelError(f"manifest has no {str(name)!r} model; it has {sorted(map(str, self.files))}") from None

    def read_model(self, variant: str | None = None) -> bytes:
        """The bytes of a model file, after checking its SHA-256 against the manifest."""
        entry = self.file(variant)
        path = self.directory / entry.file
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelError(f"cannot read model file {path}: {exc}") from exc
        digest = sha256(data).hexdigest()
        if digest != entry.sha256:
            raise ModelError(
                f"{path}: sha256 {digest} does not match the manifest's {entry.sha256}; refusing to load it"
            )
        return data

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written as ``model.json``."""
        return {
            "format": MANIFEST_FORMAT,
            "schema": MANIFEST_SCHEMA,
            "model_id": self.model_id,
            "default_variant": str(self.default_variant),
            "files": {
                str(k): {"file": f.file, "sha256": f.sha256, "bytes": f.bytes,
                    "input": f.input.to_dict(), "output": f.output.to_dict()}
                for k, f in self.files.items()
            },
            "labels": list(self.labels),
            "input_spec": self.input_spec.to_dict(),
            "training": self.training,
            "versions": self.versions,
        }


def load_manifest(path: str | Path) -> Manifest:
    """Parse ``model.json`` (or a directory holding one); every defect is a :class:`ModelError`."""
    p = Path(path)
    if p.is_dir():
        p = p / "model.json"
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"no model manifest at {p}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{p}: not a readable JSON manifest ({exc})") from exc
    if not isinstance(raw, dict) or raw.get("format") != MANIFEST_FORMAT:
        raise ModelError(f"{p}: not a harlite model manifest (format != {MANIFEST_FORMAT!r})")
    default = raw.get("default_variant")
    if default not in {v.value for v in Variant}:
        raise ModelError(f"{p}: manifest has no {default!r} model (default_variant must be one of "
                         f"{[v.value for v in Variant]})")
    if raw.get("schema") != MANIFEST_SCHEMA:
        raise ModelError(f"{p}: manifest schema {raw.get('schema')!r} is not supported (want {MANIFEST_SCHEMA})")
    try:
        spec = InputSpec.from_dict(raw["input_spec"])
        labels = tuple(str(s) for s in raw["labels"])
        files = {}
        for variant, f in raw["files"].items():
            v = Variant(variant)
            files[v] = ModelFile(v, str(f["file"]), str(f["sha256"]), int(f["bytes"]),
                                 TensorInfo.from_dict(f["input"]), TensorInfo.from_dict(f["output"]))
        m = Manifest(p.parent, str(raw["model_id"]), Variant(raw["default_variant"]), files, labels, spec,
                     dict(raw.get("training") or {}), dict(raw.get("versions") or {}))
    except InputContractError as exc:
        raise ModelError(f"{p}: {exc}") from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelError(f"{p}: malformed manifest ({exc!r})") from exc
    if not labels:
        raise ModelError(f"{p}: manifest has no labels")
    for f in files.values():
        if Path(f.file).name != f.file:
            raise ModelError(f"{p}: model file {f.file!r} must be a plain name beside the manifest")
        if f.input.shape[1:] != spec.shape:
            raise ModelError(f"{p}: {f.variant} input shape {f.input.shape} does not fit the input spec {spec.shape}")
        if f.output.shape[-1] != len(labels):
            raise ModelError(f"{p}: {f.variant} has {f.output.shape[-1]} outputs but {len(labels)} labels")
    m.file()  # the default variant must exist
    return m
