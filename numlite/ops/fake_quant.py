"""FAKE_QUANT: quantize and dequantize float32 values on a fixed grid; versions 1-2, as TFLite's
``fake_quant.cc`` (``NudgeQuantizationRange`` + ``FakeQuantizeArray``, from TensorFlow's
``FakeQuantWithMinMaxArgs``).  Options: ``min``, ``max``, ``num_bits``, ``narrow_range``.

1. ``narrow_range`` is refused, as LiteRT's prepare does.  Only float32 tensors: LiteRT never
   checks the type and reads any input's bytes as floats; numlite rejects other types.
2. Prepare, in float32 as TFLite: ``quant_max = (1 << num_bits) - 1`` in int32 (``num_bits``
   taken modulo 32, as the x86 shift does: 32 gives 0, 31 gives INT32_MAX), ``scale = (max -
   min) / quant_max``, ``zp_from_min = -min / scale``; the zero point is 0 or ``quant_max`` when
   ``zp_from_min`` is outside [0, quant_max], else ``round(zp_from_min)`` (half away from zero),
   stored as uint16 as TFLite does (a zero point of 65536 or more wraps; nan becomes 0);
   ``nudged_min = -zp * scale``, ``nudged_max = (quant_max - zp) * scale``.
3. Invoke, in place in the output: clamp to [nudged_min, nudged_max] (nan becomes nudged_min,
   as ``std::max`` / ``std::min`` treat it), subtract nudged_min, times ``1 / scale``, round half
   away from zero, times ``scale``, plus nudged_min.  Same float32 operations in the same order
   as LiteRT, so results are equal (tests compare exactly).  Degenerate options (``min == max``,
   ``num_bits`` 0) give nan as in LiteRT.
"""

from __future__ import annotations

import numpy as np

from . import _qnonlinear as qn
from ._unary import UnaryKernel
from .base import PrepareContext, Step, TensorSpec
from .quant import round_half_away_
from .registry import register

F32 = np.float32


def nudge(qmin: float, qmax_int: int, rmin: float, rmax: float) -> tuple[np.float32, np.float32, np.float32]:
    """TFLite's ``NudgeQuantizationRange`` in float32: (nudged_min, nudged_max, scale)."""
    with np.errstate(all="ignore"):
        qmin_f, qmax_f = F32(qmin), F32(qmax_int)
        scale = F32(F32(rmax) - F32(rmin)) / F32(qmax_f - qmin_f)
        zp_from_min = F32(qmin_f - F32(rmin) / scale)
        if zp_from_min < qmin_f:
            zp = int(qmin)
        elif zp_from_min > qmax_f:
            zp = int(qmax_int) & 0xFFFF
        else:
            zp = int(qn.float_to_int32(qn.round_half_away(zp_from_min))) & 0xFFFF
        zp_f = F32(zp)
        return F32((qmin_f - zp_f) * scale), F32((qmax_f - zp_f) * scale), scale


@register("FAKE_QUANT", versions=(1, 2))
class FakeQuant(UnaryKernel):
    options_table = "FakeQuantOptions"
    dtypes = (np.float32,)
    ieee_specials = True

    def setup(self, ctx: PrepareContext, x: TensorSpec) -> None:
        o = self.options
        if o.get("narrow_range"):
            ctx.fail("narrow_range is not supported at runtime (LiteRT refuses it too; it is meant for weights)")
        num_bits = int(o.get("num_bits") or 0)
        qmax = (1 << (num_bits & 31)) - 1
        qmax = int(qn.wrap32(np.int64(qmax)))
        self.lo, self.hi, self.scale = nudge(0.0, qmax, float(o.get("min") or 0.0), float(o.get("max") or 0.0))
        with np.errstate(all="ignore"):
            self.inv = F32(1) / self.scale
        self.tmp_slot = ctx.scratch(x.shape, np.float32)

    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        lo, hi, scale, inv, tmp = self.lo, self.hi, self.scale, self.inv, scratch[self.tmp_slot]

        def step() -> None:
            np.fmax(x, lo, out=out)        # nan -> lo, as std::max(lo, nan) returns lo
            np.fmin(out, hi, out=out)
            np.subtract(out, lo, out=out)
            np.multiply(out, inv, out=out)
            round_half_away_(out, tmp)
            np.multiply(out, scale, out=out)
            np.add(out, lo, out=out)

        return step
