"""LOGISTIC: ``1 / (1 + exp(-x))``; float32, and quantized uint8 / int8 / int16.

Float32, as ``1 / (1 + exp(-x))``:

1. Four in-place passes over the output view (negate, exp, add one, reciprocal); no scratch.
2. Relative accuracy of a few ulp everywhere, the tails included: 1.13e-9 at x = -20.6 and
   1.9e-22 at x = -50, as LiteRT computes (real models read these: MediaPipe's pose landmark
   model's pose flag).  ``exp`` overflows to inf below x = -88.7, where the result is the exact
   limit 0 (NumPy's overflow warning is silenced); nan stays nan.  (The form
   ``0.5 + 0.5 * tanh(x / 2)`` is about 1.5x faster with NumPy but rounds to 0 below x = -17.)

Quantized (LiteRT's reference kernel; a lookup table built at prepare, see ``_unary``):

4. uint8 / int8: the output scale must be exactly 1/256 (any zero point, as LiteRT's reference
   path checks).  The table is TFLite's ``LUTPopulate`` of ``1.0f / (1.0f + expf(-x))`` in
   float32 with the C library's ``expf``.
5. int16: zero points 0 and output scale exactly 1/32768.  A power-of-two input scale of 2^-12
   uses the multiplier 3; any other scale a multiplier ``int(in_scale * 3 * 4096 * 2^k)`` just
   above 2^14 with a rounding right shift by ``k``.  The value is then interpolated in TFLite's
   256-entry sigmoid table (Q0.16, steps of 1/24), symmetric around 0 - computed for all 65536
   inputs into the table.
"""

from __future__ import annotations

import numpy as np

from . import _qnonlinear as qn
from ._unary import Q8_16, UnaryKernel
from .base import PrepareContext, Step, TensorSpec
from .registry import register

# TFLite's sigmoid_table_uint16: sigmoid(i / 24) in Q0.16, i = 0..255 (also used by TANH int16).
SIGMOID_TABLE_UINT16 = np.array([
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794, 41432, 42064,
    42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464,
    50942, 51409, 51865, 52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503,
    56823, 57133, 57433, 57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370,
    60565, 60753, 60935, 61110, 61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666,
    62778, 62886, 62990, 63090, 63186, 63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968,
    64030, 64090, 64148, 64204, 64257, 64308, 64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687,
    64721, 64754, 64786, 64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079,
    65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258, 65269, 65280, 65291,
    65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367, 65374, 65381, 65387, 65393, 65399, 65404,
    65410, 65415, 65420, 65425, 65429, 65433, 65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465,
    65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498,
    65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513, 65514, 65515, 65516,
    65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524, 65525, 65525,
    65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530, 65530,
    65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65535], np.int64)


def int16_input_rescale(ctx: PrepareContext, x: TensorSpec, out: TensorSpec, pot_shifts: tuple[int, ...]
                        ) -> tuple[int, int]:
    """The int16 LOGISTIC / TANH prepare: zero points 0, output scale 2^-15, and the
    (multiplier, right shift) taking the input to the sigmoid table's scale 1 / (3 * 4096)."""
    if x.quantization.zero_point != 0 or out.quantization.zero_point != 0:
        ctx.fail(f"int16 input {x.describe()} and output need zero points of 0, got "
                 f"{x.quantization.zero_point} and {out.quantization.zero_point}")
    pot, log2 = qn.checked_log2(x.quantization.scale)
    shift = 12 + log2
    if pot and shift in pot_shifts:
        mult, shift = 3 << shift, 0
    else:
        m = float(np.float32(x.quantization.scale)) * 4096.0 * 3.0
        shift = 0
        while m <= 32767.0 / 2.0 and shift <= 30:
            shift += 1
            m *= 2.0
        mult = int(m)
    out_pot, out_log2 = qn.checked_log2(out.quantization.scale)
    if not out_pot or out_log2 != -15:
        ctx.fail(f"int16 output {out.describe()} must have scale 2^-15, got {out.quantization.scale}")
    return mult, shift


def int16_rescaled(values: np.ndarray, mult: int, shift: int) -> np.ndarray:
    rnd = (1 << (shift - 1)) if shift > 0 else 0
    return qn.wrap32(values * mult + rnd) >> shift


@register("LOGISTIC", versions=range(1, 4))
class Logistic(UnaryKernel):
    quantized = Q8_16

    ieee_specials = True  # exp overflow for x < -88.7: the result is then the exact limit 0
    in_place_safe = True  # the first pass reads x, the others only the output

    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        one = np.float32(1)

        def step() -> None:
            np.negative(x, out=out)
            np.exp(out, out=out)
            np.add(out, one, out=out)
            np.reciprocal(out, out=out)

        return step

    def quant_table(self, ctx: PrepareContext, x: TensorSpec, out: TensorSpec, values: np.ndarray) -> np.ndarray:
        out_scale = float(np.float32(out.quantization.scale))
        if np.dtype(x.dtype) != np.int16:
            if out_scale != 1.0 / 256:
                ctx.fail(f"output {out.describe()} must have scale 1/256, got {out_scale}")
            expf = qn.libm("expf")
            one = np.float32(1)

            def sigmoid(v: np.ndarray) -> np.ndarray:
                with np.errstate(over="ignore"):
                    return one / (one + expf(-v))

            return qn.lut8_populate(sigmoid, x.quantization.scale, x.quantization.zero_point, out_scale,
                                    out.quantization.zero_point, x.dtype)
        if out_scale != 1.0 / 32768 or out.quantization.zero_point != 0:
            ctx.fail(f"int16 output {out.describe()} must have scale 1/32768 and zero point 0")
        mult, shift = int16_input_rescale(ctx, x, out, (0,))
        v = int16_rescaled(values, mult, shift)
        a = np.abs(v)
        uh = a >> 9
        ua = SIGMOID_TABLE_UINT16[np.minimum(uh, 254)]
        ub = SIGMOID_TABLE_UINT16[np.minimum(uh, 254) + 1]
        res = np.where(uh >= 255, 0x7FFF << 10, (ua << 9) + (a & 0x1FF) * (ub - ua))
        res = np.where(v >= 0, res + (1 << 9), (1 << 25) - res + (1 << 9) - 1) & 0xFFFFFFFF
        return qn.wrap16(res >> 10)
