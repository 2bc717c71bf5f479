"""Provenance and consent for synthetic media (issue 9).

- ``consent``: consent records for a likeness (JSON, sha256 digest over a canonical form, id from it).
- ``certs``: signing credentials (a studio certificate, or a local test CA made by ``make_test_ca``).
- ``manifest``: C2PA manifests (c2pa-python): embedded in PNG/JPEG/MP4, sidecar ``.c2pa`` for EXR.
- ``watermark``: an invisible, deterministic block-DCT watermark in the frames' luma.
- ``seal``: a digest of an Identity / PersonModel file's tensors, written at save, checked at load, bound to
  its consent record.
- ``mark``: ``Marker`` (what ``render`` uses) and ``mark_output`` (what host save nodes call).
- ``verify``: what ``talkinghead verify`` reports.

Nothing here is imported by ``talkinghead`` at import time; c2pa is imported only when signing/reading.
"""
