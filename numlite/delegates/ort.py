"""The ONNX Runtime delegate: ``numlite.load_delegate("onnxruntime", options)``.

Each partition of the nodes ``onnx_graph.supported`` maps (float32 CNN, transformer and
elementwise ops; their int8 / uint8 forms in QDQ, which ONNX Runtime runs on its integer kernels)
becomes an in-memory ONNX model run by an ``onnxruntime.InferenceSession``:

1. ``prepare`` (in ``allocate_tensors``): numlite's kernels give every tensor's shape
   (``DelegateKernel.infer``), ``onnx_graph.OnnxBuilder`` writes the partition as ONNX (NHWC
   kept; Transposes around convolutions and pooling, which ONNX Runtime's optimizer cancels),
   and the session is created (``intra_op_num_threads`` = the interpreter's ``num_threads``,
   one inter-op thread, all graph optimizations).  A new input shape makes a new session.
2. ``bind``: IO binding on numlite's arrays - the partition's inputs and outputs are the arena
   views themselves (C-contiguous), so ONNX Runtime reads and writes them without copies; the
   step is ``run_with_iobinding``.

Options (``load_delegate("onnxruntime", {...})``): ``providers`` (default
``["CPUExecutionProvider"]``), ``provider_options``, ``session_options`` (a mapping of
``onnxruntime.SessionOptions`` attributes to set), ``session_config`` (a mapping of session
configuration entries, ``SessionOptions.add_session_config_entry``), ``graph_optimization_level`` (``"all"``,
``"extended"``, ``"basic"``, ``"disabled"``), ``cache`` (default True), ``cache_dir`` (default
``$NUMLITE_CACHE_DIR/onnxruntime``, else ``~/.cache/numlite/onnxruntime``: ``cache.default_dir``),
``cache_max_bytes`` (default 2 GiB), plus the partition options of every delegate.

The cache (``numlite.delegates.cache``; only with the CPU provider alone): the first
``allocate_tensors`` of a partition saves ONNX Runtime's optimized graph of it
(``SessionOptions.optimized_model_filepath``), keyed by the model's content, the partition, its
input shapes and these options; later interpreters of the same model (in any process) load that
graph with ONNX Runtime's optimizations off, and skip numlite's shape inference and the ONNX
build.  Weights are then read from the cache file (the cold path hands numlite's arrays to ONNX
Runtime without copying them).

Needs ``onnxruntime`` only (``pip install 'numlite[onnxruntime]'``, which also brings ``onnx`` for
``numlite export``; the delegate writes its ONNX graphs itself, ``onnx_proto``): without it,
``load_delegate("onnxruntime")`` raises one ``ImportError`` naming the extra.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..graph import Operator, Subgraph
from ..ops.base import PrepareContext, Step
from . import Delegate, DelegateKernel
from .cache import MAX_BYTES, PartitionCache, default_dir
from .onnx_graph import EXTERNAL_MIN_BYTES, OWN_CHECKS, OnnxBuilder, name, supported

LEVELS = {"all": "ORT_ENABLE_ALL", "extended": "ORT_ENABLE_EXTENDED", "basic": "ORT_ENABLE_BASIC",
          "disabled": "ORT_DISABLE_ALL"}


def ort_module() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise ImportError("the ONNX Runtime delegate needs the 'onnxruntime' package: "
                          "pip install 'numlite[onnxruntime]'") from None
    return onnxruntime


class OrtKernel(DelegateKernel):
    shapes_only = True  # numlite's kernels are only asked for shapes

    def prepare(self, ctx: PrepareContext) -> None:
        cache = self.delegate.cache
        key = cache.key(self, ctx) if cache is not None else None
        hit = cache.load(key) if key is not None else None
        if hit is not None:  # numlite's kernels are not asked: the entry has the shapes
            meta, path = hit
            self.feeds = list(meta["feeds"])
            self.updates = [tuple(u) for u in meta["updates"]]
            self.weights: dict[str, np.ndarray] = {}
            for j, (shape, dtype) in enumerate(meta["outputs"]):
                ctx.set_output(j, tuple(shape), np.dtype(dtype))
            try:
                self.session = self.delegate.session(path, ctx.num_threads, optimized=True)
                return
            except Exception:  # a damaged entry: build the partition again (and rewrite it)
                pass
        super().prepare(ctx)
        shapes = {i: tuple(s.shape) for i, s in self.specs.items()}
        values = {s.index: s.value for s in ctx.inputs if s is not None and s.value is not None}
        b = OnnxBuilder(self.subgraph, shapes, values)
        b.external = True
        self.feeds = [i for i in self.node.inputs if i not in values]
        nodes = ", ".join(f"{n.op_name} #{n.index}" for n in self.nodes[:4]) + (", ..." if len(self.nodes) > 4 else "")
        save = None
        try:
            for kernel, _ in self.prepared:
                b.add(kernel.node, kernel)
            model = b.model(self.feeds, list(self.node.outputs))
            self.updates = [(t, n) for t, n in b.state_updates]
            self.weights = b.arrays  # ONNX Runtime reads them in place: they live as long as the session
            save = cache.start(key) if key is not None else None
            self.session = self.delegate.session(model, ctx.num_threads, b.arrays, save=save)
        except Exception as e:  # onnx / onnxruntime errors (or a kernel override without numlite's state)
            ctx.fail(f"the onnxruntime delegate cannot run its partition ({nodes}): {type(e).__name__}: "
                     f"{str(e).strip().splitlines()[0] if str(e).strip() else ''}")
        if save is not None:
            outputs = [(list(self.specs[o].shape), np.dtype(self.specs[o].dtype).str) for o in self.node.outputs]
            cache.finish(key, save, {"feeds": self.feeds, "updates": self.updates, "outputs": outputs})

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        sess = self.session
        io = sess.io_binding()
        arrays = dict(zip(self.node.inputs, inputs))
        for t in self.feeds:
            a = _contiguous(arrays[t], t)
            io.bind_input(name(t), "cpu", 0, a.dtype, list(a.shape), a.ctypes.data)
        for t, a in zip(self.node.outputs, outputs):
            a = _contiguous(a, t)
            io.bind_output(name(t), "cpu", 0, a.dtype, list(a.shape), a.ctypes.data)
        run = sess.run_with_iobinding
        if not self.updates:
            return lambda: run(io)
        # recurrent state: the new value lands in a buffer of its own (ONNX Runtime may still
        # read the variable while writing it), then is copied into the variable
        pairs = []
        for t, n in self.updates:
            state = _contiguous(arrays[t], t)
            new = np.empty_like(state)
            io.bind_output(n, "cpu", 0, new.dtype, list(new.shape), new.ctypes.data)
            pairs.append((state, new))
        copy = np.copyto

        def step() -> None:
            run(io)
            for state, new in pairs:
                copy(state, new)
        return step


_FINGERPRINT: list[str] = []


def builder_fingerprint() -> str:
    """SHA-256 of the sources that write the ONNX graphs (this module, ``onnx_graph``,
    ``onnx_lstm``, ``onnx_proto``): a cached graph is one this very code wrote (once per process)."""
    if not _FINGERPRINT:
        import hashlib

        h = hashlib.sha256()
        here = os.path.dirname(os.path.abspath(__file__))
        for name in ("ort.py", "onnx_graph.py", "onnx_lstm.py", "onnx_proto.py"):
            try:
                with open(os.path.join(here, name), "rb") as f:
                    h.update(f.read())
            except OSError:  # no source (a frozen build): numlite's version stands for it
                from .. import __version__

                h.update(f"{name} {__version__}".encode())
        _FINGERPRINT.append(h.hexdigest())
    return _FINGERPRINT[0]


def _contiguous(a: np.ndarray, t: int) -> np.ndarray:
    if not a.flags.c_contiguous:
        raise RuntimeError(f"ONNX Runtime delegate: tensor {t} is not a C-contiguous array")
    return a


class OnnxRuntimeDelegate(Delegate):
    name = "onnxruntime"
    kernel_class = OrtKernel

    def __init__(self, options: Mapping[str, Any] | None = None):
        super().__init__(options)
        self.ort = ort_module()
        opts = dict(self.options)
        self.providers = list(opts.pop("providers", ["CPUExecutionProvider"]))
        self.provider_options = opts.pop("provider_options", None)
        self.session_attrs = dict(opts.pop("session_options", {}) or {})
        #: ``SessionOptions.add_session_config_entry`` entries (strings), e.g.
        #: ``{"session.intra_op.allow_spinning": "1"}``
        self.session_config = {str(k): str(v) for k, v in dict(opts.pop("session_config", {}) or {}).items()}
        level = str(opts.pop("graph_optimization_level", "all"))
        if level not in LEVELS:
            raise ValueError(f"onnxruntime delegate: graph_optimization_level must be one of {sorted(LEVELS)}")
        self.level = getattr(self.ort.GraphOptimizationLevel, LEVELS[level])
        use_cache = opts.pop("cache", True)
        cache_dir = opts.pop("cache_dir", None)
        max_bytes = opts.pop("cache_max_bytes", MAX_BYTES)
        if opts:
            raise ValueError(f"onnxruntime delegate: unknown options {sorted(opts)}")
        #: the compiled-partition cache (``numlite.delegates.cache``): on by default for the CPU
        #: provider (other providers may compile for a device: not cached)
        self.cache: PartitionCache | None = None
        if use_cache and self.providers == ["CPUExecutionProvider"]:
            config = repr((self.ort.__version__, builder_fingerprint(), self.providers, self.provider_options,
                           sorted(self.session_attrs.items()), sorted(self.session_config.items()), level))
            self.cache = PartitionCache(cache_dir or default_dir("onnxruntime"), config, int(max_bytes), ".onnx")

    def supports(self, op: Operator, subgraph: Subgraph) -> bool:
        if op.op_name not in OWN_CHECKS and any(t >= 0 and subgraph.tensors[t].is_variable
                                                for t in (*op.inputs, *op.outputs)):
            return False  # variable tensors: only the recurrent converters carry their state
        return supported(op, subgraph)

    def session(self, model: bytes | str, threads: int, arrays: Mapping[str, np.ndarray] | None = None,
                save: str | None = None, optimized: bool = False) -> Any:
        """An ``InferenceSession`` of ``model`` (serialized, or a path); ``arrays``: its external
        initializers by name; ``save``: where ONNX Runtime writes the graph it optimized;
        ``optimized``: ``model`` is such a graph (its optimizations are not run again)."""
        so = self.ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = self.ort.GraphOptimizationLevel.ORT_DISABLE_ALL if optimized else self.level
        if save is not None:
            so.optimized_model_filepath = save
            so.log_severity_level = 3  # not the warning that the graph suits this machine: the key says so
            # weights in a file of their own, beside it: ONNX Runtime maps that file into memory
            # when it loads the graph again instead of parsing and copying them (first session
            # of a process, MobileNet v1: 39 -> 5 ms)
            so.add_session_config_entry("session.optimized_model_external_initializers_file_name",
                                        os.path.basename(save)[: -len(".tmp")] + ".data")
            so.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes",
                                        str(EXTERNAL_MIN_BYTES))
        for k, v in self.session_attrs.items():
            setattr(so, k, v)
        for k, v in self.session_config.items():
            so.add_session_config_entry(k, v)
        if arrays:
            from_numpy = self.ort.OrtValue.ortvalue_from_numpy
            so.add_external_initializers(list(arrays), [from_numpy(a) for a in arrays.values()])
        kw: dict[str, Any] = {"providers": self.providers}
        if self.provider_options is not None:
            kw["provider_options"] = self.provider_options
        return self.ort.InferenceSession(model, so, **kw)
