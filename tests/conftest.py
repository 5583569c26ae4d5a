import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: model-scale checks (run with -m slow)")


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory):
    """Delegates' compiled-partition caches (``numlite.delegates.cache``) go to a directory of
    this test session, not the user's ``~/.cache`` (subprocesses inherit it)."""
    old = os.environ.get("NUMLITE_CACHE_DIR")
    os.environ["NUMLITE_CACHE_DIR"] = str(tmp_path_factory.mktemp("numlite-cache"))
    yield
    if old is None:
        os.environ.pop("NUMLITE_CACHE_DIR", None)
    else:
        os.environ["NUMLITE_CACHE_DIR"] = old


@pytest.fixture
def add_model(tmp_path):
    """A float ADD of two [2, 3] inputs written to a file: the command line tests' small model."""
    from numlite.builder import ModelBuilder

    mb = ModelBuilder()
    a = mb.input("a", (2, 3), np.float32)
    b = mb.input("b", (2, 3), np.float32)
    y = mb.tensor("sum", (2, 3), np.float32)
    mb.op("ADD", [a, b], [y], fused_activation_function="NONE")
    mb.output(y)
    path = tmp_path / "add.tflite"
    path.write_bytes(mb.build())
    return str(path)


@pytest.fixture(params=["float-weights", "converted-weights"])
def weight_storage(request, monkeypatch):
    """Quantized CONV_2D / FULLY_CONNECTED tests run twice: constant weights kept as floats, and
    converted from the model's integers into scratch at every invoke
    (``_qgemm.converts_per_invoke``, thresholds lowered to 1)."""
    from numlite.ops import _qgemm

    if request.param == "converted-weights":
        monkeypatch.setattr(_qgemm, "CONVERT_MIN_ELEMS", 1)
        monkeypatch.setattr(_qgemm, "CONVERT_MIN_ROWS", 1)
