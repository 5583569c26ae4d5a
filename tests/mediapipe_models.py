"""MediaPipe's published .tflite models and a real test photograph, fetched once and cached.

MediaPipe's 0.10.x wheels on PyPI carry the legacy "solutions" models as plain files under
``mediapipe/modules/`` (later wheels keep them inside a native library).  ``model_path(name)``
downloads the pinned wheel with pip (``--no-deps``; only unzipped, never installed), checks each
model's sha256 and keeps the .tflite files in the cache dir: ``$NUMLITE_MODEL_CACHE`` or
``~/.cache/numlite-test-models``.  When PyPI cannot be reached the calling test is skipped with
a message that says so; any other failure is an error.

``astronaut()`` is scikit-image's ``data.astronaut()`` (a 512x512 RGB portrait, public domain,
NASA): from scikit-image when it is installed, else unzipped from its wheel (downloaded the same
way) and decoded by the small PNG reader here, so the tests need neither scikit-image nor Pillow.
"""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
import sys
import urllib.request
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

MEDIAPIPE_VERSION = "0.10.14"
SKIMAGE_VERSION = "0.26.0"

#: model file name -> sha256 of the file in the mediapipe 0.10.14 wheel
MODELS: dict[str, str] = {
    "face_detection_full_range_sparse.tflite": "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
    "face_detection_short_range.tflite": "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    "face_landmark.tflite": "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
    "face_landmark_with_attention.tflite": "e06a804e0144f9929eda782122916b35d60c697c3c9344013ca2bbe76a6ce2b4",
    "hand_landmark_full.tflite": "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3",
    "hand_landmark_lite.tflite": "048edd3645c9bf7397d19a9f6e3a42957d6e414c9bea6598030a2e9b624156e6",
    "hand_recrop.tflite": "67d996ce96f9d36fe17d2693022c6da93168026ab2f028f9e2365398d8ac7d5d",
    "iris_landmark.tflite": "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
    "palm_detection_full.tflite": "1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54",
    "palm_detection_lite.tflite": "e9a4aaddf90dda56a87235303cf00e4c2d3fb28725f68fd88772997dac905c18",
    "pose_detection.tflite": "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
    "pose_landmark_full.tflite": "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
    "selfie_segmentation.tflite": "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
    "selfie_segmentation_landscape.tflite": "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd",
}
ASTRONAUT_SHA256 = "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"
PYPI = "https://pypi.org/simple/"


def cache_dir() -> Path:
    return Path(os.environ.get("NUMLITE_MODEL_CACHE") or Path.home() / ".cache" / "numlite-test-models")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _pypi_reachable(project: str) -> bool:
    try:
        with urllib.request.urlopen(f"{PYPI}{project}/", timeout=15) as r:
            return r.status == 200
    except OSError:
        return False


def _download_wheel(project: str, version: str, dest: Path) -> Path:
    """One wheel of ``project==version`` for CPython 3.11 / manylinux x86-64 (the files we need are
    the same in every platform's wheel; pinning one makes the cache the same on every machine)."""
    pattern = f"{project.replace('-', '_')}-{version}-*.whl"
    have = sorted(dest.glob(pattern))
    if have:
        return have[-1]
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--retries", "2", "--timeout", "30", "--no-deps",
           "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
           "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64",
           f"{project}=={version}", "-d", str(dest)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    wheels = sorted(dest.glob(pattern))
    if proc.returncode != 0 or not wheels:
        if not _pypi_reachable(project):
            pytest.skip(f"PyPI ({PYPI}{project}/) is unreachable, so the {project} {version} wheel cannot be "
                        "downloaded")
        raise RuntimeError(f"pip could not download {project}=={version}: {' '.join(cmd)}\n"
                           f"{proc.stdout}\n{proc.stderr}")
    return wheels[-1]


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def model_path(name: str) -> Path:
    """The cached path of MediaPipe model ``name`` (a key of ``MODELS``), fetched on first use."""
    want = MODELS[name]
    folder = cache_dir() / f"mediapipe-{MEDIAPIPE_VERSION}"
    path = folder / name
    if path.exists() and _sha256(path.read_bytes()) == want:
        return path
    wheel = _download_wheel("mediapipe", MEDIAPIPE_VERSION, cache_dir() / "wheels")
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        members = {Path(n).name: n for n in z.namelist() if n.endswith(".tflite")}
        missing = sorted(set(MODELS) - set(members))
        if missing:
            raise RuntimeError(f"{wheel.name} lacks {missing}")
        for fname, digest in MODELS.items():
            data = z.read(members[fname])
            if _sha256(data) != digest:
                raise RuntimeError(f"{wheel.name}: {fname} does not have the recorded sha256 {digest}")
            _write_atomic(folder / fname, data)
    return path


# --- the test photograph ---------------------------------------------------------------------
def astronaut() -> np.ndarray:
    """scikit-image's ``data.astronaut()``: uint8 (512, 512, 3) RGB."""
    try:
        from skimage import data  # type: ignore[import-not-found]

        return np.asarray(data.astronaut())
    except ImportError:
        pass
    path = cache_dir() / "images" / "astronaut.png"
    if not (path.exists() and _sha256(path.read_bytes()) == ASTRONAUT_SHA256):
        wheel = _download_wheel("scikit-image", SKIMAGE_VERSION, cache_dir() / "wheels")
        with zipfile.ZipFile(wheel) as z:
            raw = z.read("skimage/data/astronaut.png")
        if _sha256(raw) != ASTRONAUT_SHA256:
            raise RuntimeError(f"{wheel.name}: astronaut.png does not have the recorded sha256")
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, raw)
    return read_png(path.read_bytes())


def read_png(data: bytes) -> np.ndarray:
    """Decode an 8-bit, non-interlaced grey / RGB / RGBA PNG into a uint8 (H, W[, C]) array."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, idat, header = 8, [], None
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError("PNG without IHDR")
    w, h, depth, color, _, _, interlace = header
    channels = {0: 1, 2: 3, 6: 4}.get(color)
    if depth != 8 or channels is None or interlace:
        raise ValueError(f"unsupported PNG (bit depth {depth}, colour type {color}, interlace {interlace})")
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(h, 1 + w * channels)
    out = np.zeros((h, w * channels), np.int32)
    bpp = channels
    for y in range(h):
        f, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        prev = out[y - 1] if y else np.zeros(w * channels, np.int32)
        if f == 0:
            out[y] = line
        elif f == 1:  # Sub: a running sum per channel
            row = line.reshape(w, channels)
            out[y] = (np.cumsum(row, axis=0) % 256).reshape(-1)
        elif f == 2:
            out[y] = (line + prev) % 256
        elif f in (3, 4):  # Average / Paeth depend on the pixel just decoded: go byte by byte
            cur = out[y]
            for i in range(w * channels):
                a = cur[i - bpp] if i >= bpp else 0
                b = prev[i]
                if f == 3:
                    pred = (a + b) // 2
                else:
                    c = prev[i - bpp] if i >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                cur[i] = (line[i] + pred) % 256
        else:
            raise ValueError(f"bad PNG filter type {f} in row {y}")
    img = out.astype(np.uint8).reshape(h, w, channels)
    return img[:, :, 0] if channels == 1 else img


# --- image helpers ---------------------------------------------------------------------------
def crop_resize(img: np.ndarray, top: float, left: float, height: float, width: float,
                out_h: int, out_w: int) -> np.ndarray:
    """Bilinear resample of the box (top, left, height, width) of ``img`` (H, W, C) to
    (out_h, out_w, C) float32, pixel centres aligned; samples outside the image repeat the edge."""
    h, w = img.shape[:2]
    ys = top + (np.arange(out_h) + 0.5) * (height / out_h) - 0.5
    xs = left + (np.arange(out_w) + 0.5) * (width / out_w) - 0.5
    ys, xs = np.clip(ys, 0, h - 1), np.clip(xs, 0, w - 1)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    im = img.astype(np.float32)
    top_row = im[y0][:, x0] * (1 - fx) + im[y0][:, x1] * fx
    bottom_row = im[y1][:, x0] * (1 - fx) + im[y1][:, x1] * fx
    return (top_row * (1 - fy) + bottom_row * fy).astype(np.float32)
