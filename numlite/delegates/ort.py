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
``onnxruntime.SessionOptions`` attributes to set), ``graph_optimization_level`` (``"all"``,
``"extended"``, ``"basic"``, ``"disabled"``), plus the partition options of every delegate.

Needs ``onnxruntime`` and ``onnx`` (``pip install 'numlite[onnxruntime]'``): without them,
``load_delegate("onnxruntime")`` raises one ``ImportError`` naming the extra.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..graph import Operator, Subgraph
from ..ops.base import PrepareContext, Step
from . import Delegate, DelegateKernel
from .onnx_graph import OnnxBuilder, name, onnx_module, supported

LEVELS = {"all": "ORT_ENABLE_ALL", "extended": "ORT_ENABLE_EXTENDED", "basic": "ORT_ENABLE_BASIC",
          "disabled": "ORT_DISABLE_ALL"}


def ort_module() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise ImportError("the ONNX Runtime delegate needs the 'onnxruntime' and 'onnx' packages: "
                          "pip install 'numlite[onnxruntime]'") from None
    return onnxruntime


class OrtKernel(DelegateKernel):
    shapes_only = True  # numlite's kernels are only asked for shapes

    def prepare(self, ctx: PrepareContext) -> None:
        super().prepare(ctx)
        shapes = {i: tuple(s.shape) for i, s in self.specs.items()}
        values = {s.index: s.value for s in ctx.inputs if s is not None and s.value is not None}
        b = OnnxBuilder(self.subgraph, shapes, values)
        b.external = True
        self.feeds = [i for i in self.node.inputs if i not in values]
        nodes = ", ".join(f"{n.op_name} #{n.index}" for n in self.nodes[:4]) + (", ..." if len(self.nodes) > 4 else "")
        try:
            for kernel, _ in self.prepared:
                b.add(kernel.node, kernel)
            model = b.model(self.feeds, list(self.node.outputs))
            self.weights = b.arrays  # ONNX Runtime reads them in place: they live as long as the session
            self.session = self.delegate.session(model.SerializeToString(), ctx.num_threads, b.arrays)
        except Exception as e:  # onnx / onnxruntime errors (or a kernel override without numlite's state)
            ctx.fail(f"the onnxruntime delegate cannot run its partition ({nodes}): {type(e).__name__}: "
                     f"{str(e).strip().splitlines()[0] if str(e).strip() else ''}")

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
        return lambda: run(io)


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
        onnx_module()
        opts = dict(self.options)
        self.providers = list(opts.pop("providers", ["CPUExecutionProvider"]))
        self.provider_options = opts.pop("provider_options", None)
        self.session_attrs = dict(opts.pop("session_options", {}) or {})
        level = str(opts.pop("graph_optimization_level", "all"))
        if level not in LEVELS:
            raise ValueError(f"onnxruntime delegate: graph_optimization_level must be one of {sorted(LEVELS)}")
        self.level = getattr(self.ort.GraphOptimizationLevel, LEVELS[level])
        if opts:
            raise ValueError(f"onnxruntime delegate: unknown options {sorted(opts)}")

    def supports(self, op: Operator, subgraph: Subgraph) -> bool:
        return supported(op, subgraph)

    def session(self, model: bytes, threads: int, arrays: Mapping[str, np.ndarray] | None = None) -> Any:
        """An ``InferenceSession`` of ``model``; ``arrays``: its external initializers by name."""
        so = self.ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = self.level
        for k, v in self.session_attrs.items():
            setattr(so, k, v)
        if arrays:
            from_numpy = self.ort.OrtValue.ortvalue_from_numpy
            so.add_external_initializers(list(arrays), [from_numpy(a) for a in arrays.values()])
        kw: dict[str, Any] = {"providers": self.providers}
        if self.provider_options is not None:
            kw["provider_options"] = self.provider_options
        return self.ort.InferenceSession(model, so, **kw)
