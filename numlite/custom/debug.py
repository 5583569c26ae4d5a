"""LiteRT's debugging custom op NumericVerify, which its default resolver registers.

TensorFlow's converter writes NumericVerify nodes when asked to check a quantized model against
its float twin (``debug``/``numeric verify`` modes): each one compares a quantized tensor with the
float tensor it stands for.  Enable with ``numlite.custom.debug.register()`` or
``Interpreter(..., custom_ops=numlite.custom.debug.OPS)``.

NumericVerify, as LiteRT's ``kernels/numeric_verify.cc``:

1. Inputs: the quantized tensor (uint8, int8, int16 with scale and zero point, or float16) and
   the float32 reference, with as many elements.  Options (FlexBuffers map): ``tolerance``
   (float) and ``log_if_failed`` (bool).
2. Output: float32 shaped like the first input, ``dequantize(input) - reference`` elementwise
   (dequantization as the DEQUANTIZE op: ``scale * (q - zero_point)`` rounded to float32;
   float16 widened exactly).
3. With ``log_if_failed`` and ``tolerance >= 0.1``: invoke fails, naming the first element,
   when some ``|difference|`` exceeds ``tolerance * scale``.  Otherwise the statistics LiteRT
   logs (mean, standard deviation and largest absolute difference) go to the ``numlite`` logger
   at INFO level, and the invoke succeeds.
"""

from __future__ import annotations

import logging

import numpy as np

from ..ops.base import Kernel, PrepareContext, Step
from ..ops.registry import register_op

__all__ = ["NumericVerify", "OPS", "register"]

_log = logging.getLogger("numlite")
_INPUTS = (np.uint8, np.int8, np.int16, np.float16)


class NumericVerify(Kernel):
    foldable = False  # the check (and its log) happens at every invoke, as in LiteRT

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        x, ref = ctx.input(0), ctx.input(1)
        ctx.expect_dtype(x, _INPUTS)
        ctx.expect_dtype(ref, [np.float32], role="reference input")
        if ref.size != x.size:
            ctx.fail(f"reference {ref.describe()} has {ref.size} elements; {x.describe()} has {x.size}")
        opts = ctx.custom_options()
        try:
            self.tolerance = float(opts.get("tolerance", 0.0))
        except (TypeError, ValueError):
            ctx.fail(f"custom_options: tolerance {opts.get('tolerance')!r} is not a number")
        self.log_if_failed = bool(opts.get("log_if_failed", False))
        q = x.quantization
        self.half = np.dtype(x.dtype) == np.float16
        if not self.half and q.scales.size > 1:
            ctx.fail(f"{x.describe()} is quantized per channel; NumericVerify takes one scale")
        self.scale = np.float32(q.scales[0]) if q.is_quantized else np.float32(0)
        self.zp = np.float32(q.zero_points[0]) if q.zero_points.size else np.float32(0)
        self.label = f"{ctx.node.op_name} (node {ctx.node.index})"
        self.x_desc = x.describe()
        ctx.set_output(0, x.shape, np.float32)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        x, out = inputs[0], outputs[0]
        ref = inputs[1].reshape(out.shape)
        scale, zp, half = self.scale, self.zp, self.half
        check = self.log_if_failed and self.tolerance >= 0.1
        max_diff = np.float32(self.tolerance) * scale

        def step() -> None:
            if half:
                np.copyto(out, x)
            else:
                np.subtract(x, zp, out=out, dtype=np.float32)
                np.multiply(out, scale, out=out)
            np.subtract(out, ref, out=out)
            if out.size == 0:
                return
            if check:
                bad = np.flatnonzero(np.abs(out) > max_diff)
                if bad.size:
                    i = int(bad[0])
                    raise RuntimeError(
                        f"{self.label}: element {i} of {self.x_desc} is {float(out.flat[i]) + float(ref.flat[i])!r} "
                        f"dequantized against {float(ref.flat[i])!r}: difference {abs(float(out.flat[i]))!r} > "
                        f"{float(max_diff)!r} (tolerance {self.tolerance} x scale {float(scale)})")
            elif _log.isEnabledFor(logging.INFO):
                d = out.astype(np.float64)
                _log.info("%s: std: %f, mean: %f, max_diff: %f (scale: %f, zero_point: %d)", self.label,
                          float(d.std()), float(d.mean()), float(np.abs(d).max()), float(scale), int(zp))

        return step


OPS: dict[str, type[Kernel]] = {"NumericVerify": NumericVerify}


def register() -> None:
    """Register NumericVerify for every ``Interpreter`` created afterwards (idempotent)."""
    for name, cls in OPS.items():
        register_op(name, cls)
