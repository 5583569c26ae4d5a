"""The ONNX Runtime delegate's compiled-partition cache (``numlite.delegates.cache``): entries
keyed by the model's content, the partition, its input shapes and the delegate's settings; a
warm interpreter skips building the ONNX graph; damaged, stale or unwritable caches never
change results."""

import os

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

import numlite  # noqa: E402
from numlite import models  # noqa: E402
from numlite.delegates import onnx_graph  # noqa: E402
from numlite.delegates.cache import PartitionCache  # noqa: E402

MODEL = models.build("mobilenet_v1", resolution=32, alpha=0.25)
OTHER = models.build("mobilenet_v2", resolution=32, alpha=0.35)


def _two_partitions() -> bytes:
    """CONV -> CUMSUM (not mapped) -> ADD: two partitions, any batch size."""
    from numlite.builder import ModelBuilder

    rng = np.random.default_rng(1)
    mb = ModelBuilder()
    x = mb.input("x", (1, 9, 10, 4), np.float32)
    t = mb.tensor("t", (1, 9, 10, 6), np.float32)
    mb.op("CONV_2D", [x, mb.const("w", rng.standard_normal((6, 3, 3, 4)).astype(np.float32)),
                      mb.const("b", rng.standard_normal(6).astype(np.float32))], [t], padding=0, stride_h=1,
          stride_w=1, dilation_h_factor=1, dilation_w_factor=1, fused_activation_function="RELU")
    c = mb.tensor("c", (1, 9, 10, 6), np.float32)
    mb.op("CUMSUM", [t, mb.const("axis", np.int32(3))], [c])
    y = mb.tensor("y", (1, 9, 10, 6), np.float32)
    mb.op("ADD", [c, t], [y])
    mb.output(y)
    return mb.build()


def _run(path_or_bytes, cache_dir, shape=None, **opts):
    kw = {"model_path": path_or_bytes} if isinstance(path_or_bytes, (str, os.PathLike)) else \
        {"model_content": path_or_bytes}
    d = numlite.load_delegate("onnxruntime", {"cache_dir": str(cache_dir), **opts})
    it = numlite.Interpreter(experimental_delegates=[d], **kw)
    inp = it.get_input_details()[0]
    if shape is not None:
        it.resize_tensor_input(inp["index"], shape)
    it.allocate_tensors()
    x = np.random.default_rng(0).uniform(-1, 1, shape or inp["shape"]).astype(np.float32)
    it.set_tensor(inp["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"]), x


def _reference(data, x):
    it = numlite.Interpreter(model_content=data)
    inp = it.get_input_details()[0]
    if tuple(x.shape) != tuple(inp["shape"]):
        it.resize_tensor_input(inp["index"], x.shape)
    it.allocate_tensors()
    it.set_tensor(inp["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


def _entries(d):
    return sorted(f for f in os.listdir(d) if f.endswith(".onnx")) if os.path.isdir(d) else []


@pytest.fixture
def model_file(tmp_path):
    p = tmp_path / "m.tflite"
    p.write_bytes(MODEL)
    return p


def _no_builder(monkeypatch):
    def refuse(self, op, kernel=None):
        raise AssertionError("the ONNX graph was built on a warm cache")
    monkeypatch.setattr(onnx_graph.OnnxBuilder, "add", refuse)


def test_cold_then_warm_same_results_without_building(model_file, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cold, x = _run(model_file, cache)
    assert len(_entries(cache)) == 1 and len([f for f in os.listdir(cache) if f.endswith(".json")]) == 1
    np.testing.assert_allclose(cold, _reference(MODEL, x), rtol=1e-4, atol=1e-5)
    _no_builder(monkeypatch)
    warm, _ = _run(model_file, cache)
    np.testing.assert_array_equal(warm, cold)
    warm_bytes, _ = _run(MODEL, cache)  # the same content given as bytes: the same entry
    np.testing.assert_array_equal(warm_bytes, cold)
    assert len(_entries(cache)) == 1


def test_key_follows_content_shapes_and_settings(tmp_path):
    cache, model = tmp_path / "cache", tmp_path / "two.tflite"
    model.write_bytes(_two_partitions())
    _run(model, cache)
    assert len(_entries(cache)) == 2  # one per partition
    _run(model, cache, shape=[2, 9, 10, 4])  # another input shape: other entries
    assert len(_entries(cache)) == 4
    _run(model, cache, graph_optimization_level="basic")  # other settings: other entries
    assert len(_entries(cache)) == 6
    out, x = _run(model, cache, shape=[2, 9, 10, 4])  # warm, batch 2
    np.testing.assert_allclose(out, _reference(model.read_bytes(), x), rtol=1e-4, atol=1e-5)
    assert len(_entries(cache)) == 6


def test_a_model_file_rewritten_is_not_taken_for_the_old_one(model_file, tmp_path):
    cache = tmp_path / "cache"
    _run(model_file, cache)
    model_file.write_bytes(OTHER)  # same path, new content
    os.utime(model_file, ns=(1, 1))  # even with another modification time than the first
    out, x = _run(model_file, cache)
    np.testing.assert_allclose(out, _reference(OTHER, x), rtol=1e-4, atol=1e-5)
    assert len(_entries(cache)) == 2


def test_a_model_file_changed_after_loading_does_not_inherit_the_loaded_digest(model_file, tmp_path, monkeypatch):
    """Another process rewrites the file just after numlite read it, before the delegate's first
    prepare hashes the loaded bytes: that digest is remembered under the stamp the file had when
    it was read, never under the new file's, so the next interpreter on the new file gets the new
    model's partitions, not the old ones (same graph, other weights: same keys but for the digest)."""
    from numlite import graph

    retrained = models.build("mobilenet_v1", resolution=32, alpha=0.25, seed=5)  # MODEL's graph, other weights
    read = graph._read_model_file

    def read_then_rewrite(path, use_mmap):
        got = read(path, use_mmap)
        model_file.write_bytes(retrained)
        os.utime(model_file, ns=(7, 7))
        return got

    cache = tmp_path / "cache"
    with monkeypatch.context() as m:
        m.setattr(graph, "_read_model_file", read_then_rewrite)
        first, x = _run(model_file, cache)  # the bytes read: MODEL
    np.testing.assert_allclose(first, _reference(MODEL, x), rtol=1e-4, atol=1e-5)
    out, x = _run(model_file, cache)
    assert not np.allclose(_reference(retrained, x), _reference(MODEL, x), rtol=1e-2)
    np.testing.assert_allclose(out, _reference(retrained, x), rtol=1e-4, atol=1e-5)
    assert len(_entries(cache)) == 2


@pytest.mark.parametrize("damage", ["truncate", "garbage", "meta", "weights-truncated", "weights-missing"])
def test_a_damaged_entry_is_rebuilt(model_file, tmp_path, damage):
    cache = tmp_path / "cache"
    first, x = _run(model_file, cache)
    (entry,) = _entries(cache)
    path = cache / entry
    (weights,) = [p for p in cache.iterdir() if p.name.endswith(".data")]  # ONNX Runtime maps it
    assert weights.name.startswith(entry[:-len(".onnx")] + ".") and weights.stat().st_size > 100_000
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:1000])
    elif damage == "garbage":
        path.write_bytes(b"\x00not onnx" * 50)
    elif damage == "meta":
        (cache / entry.replace(".onnx", ".json")).write_text("{not json")
    elif damage == "weights-truncated":
        weights.write_bytes(weights.read_bytes()[:5000])
    else:
        weights.unlink()
    again, _ = _run(model_file, cache)
    np.testing.assert_array_equal(again, first)
    if damage != "meta":  # written again, with a new weights file; the old one is gone
        (new_weights,) = [p for p in cache.iterdir() if p.name.endswith(".data")]
        assert new_weights.name != weights.name and new_weights.stat().st_size > 100_000
    np.testing.assert_array_equal(_run(model_file, cache)[0], first)
    assert len(_entries(cache)) == 1


def test_unusable_cache_dir_and_cache_off(model_file, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"x")
    out, x = _run(model_file, blocker / "sub")  # cannot be made: no cache, same results
    np.testing.assert_allclose(out, _reference(MODEL, x), rtol=1e-4, atol=1e-5)
    off = tmp_path / "off"
    _run(model_file, off, cache=False)
    assert not off.exists()
    d = numlite.load_delegate("onnxruntime", {"providers": ["CPUExecutionProvider", "CPUExecutionProvider"]})
    assert d.cache is None  # only the CPU provider alone is cached


def test_least_recently_used_entries_are_evicted(tmp_path):
    cache = PartitionCache(str(tmp_path), "cfg", max_bytes=300, suffix=".onnx")  # 131 bytes an entry
    for i, key in enumerate(["a", "b", "c"]):
        tmp = cache.start(key)
        with open(tmp, "wb") as f:
            f.write(b"x" * 100)
        (tmp_path / f"{key}.stale.data").write_bytes(b"w")  # an earlier entry's: removed by ``finish``
        with open(tmp[: -len(".tmp")] + ".data", "wb") as f:  # this entry's companion: kept, evicted with it
            f.write(b"w" * 10)
        cache.finish(key, tmp, {"n": i})
        os.utime(tmp_path / f"{key}.onnx", ns=(10**9 * (i + 1), 10**9 * (i + 1)))
    cache._evict()
    names = sorted(os.listdir(tmp_path))
    assert [n for n in names if not n.endswith(".data")] == ["b.json", "b.onnx", "c.json", "c.onnx"]
    assert [n.split(".")[0] for n in names if n.endswith(".data")] == ["b", "c"]
    assert not any("stale" in n for n in names)
    assert cache.load("b")[0]["n"] == 1 and cache.load("a") is None


def test_default_directory_follows_the_environment(monkeypatch, tmp_path):
    from numlite.delegates.cache import default_dir

    monkeypatch.setenv("NUMLITE_CACHE_DIR", str(tmp_path / "n"))
    assert default_dir("onnxruntime") == str(tmp_path / "n" / "onnxruntime")
    monkeypatch.delenv("NUMLITE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_dir("onnxruntime") == str(tmp_path / "x" / "numlite" / "onnxruntime")


def test_session_config_entries_reach_onnxruntime_and_the_key(model_file, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    seen = []
    import onnxruntime

    real = onnxruntime.SessionOptions.add_session_config_entry

    def spy(self, k, v):
        seen.append((k, v))
        return real(self, k, v)
    monkeypatch.setattr(onnxruntime.SessionOptions, "add_session_config_entry", spy)
    base, x = _run(model_file, cache)
    spinning, _ = _run(model_file, cache, session_config={"session.intra_op.allow_spinning": 0})
    assert ("session.intra_op.allow_spinning", "0") in seen
    np.testing.assert_array_equal(spinning, base)
    assert len(_entries(cache)) == 2  # another setting, another entry
    with pytest.raises(ValueError, match="unknown options"):
        numlite.load_delegate("onnxruntime", {"session_configs": {}})


def test_a_change_to_the_graph_writer_is_a_new_key(model_file, tmp_path, monkeypatch):
    """Entries are keyed by the source of the code that writes the ONNX graphs, so a numlite
    with another mapping never loads a graph an older one cached."""
    from numlite.delegates import ort

    cache = tmp_path / "cache"
    _run(model_file, cache)
    assert len(ort.builder_fingerprint()) == 64
    monkeypatch.setattr(ort, "_FINGERPRINT", ["another onnx_graph.py"])
    _run(model_file, cache)
    assert len(_entries(cache)) == 2
