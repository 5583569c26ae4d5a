"""REDUCE_PROD: product over the given axes (integers wrap as in TFLite); see ``_reduce``.

Unquantized uint8 / int8 / int16 multiply in their own type (wrapping).  Quantized int8 and int16
(zero points 0) follow TFLite's reference QuantizedReduceProd; quantized uint8 is refused, as in
TFLite:

1. Prepare: ``m = in_scale / out_scale ** (1 / n)`` (double, ``n`` = input size / output size)
   encoded as (multiplier, shift).
2. Per output, the reduced elements in row-major order: ``acc = x0 - zp_in``, then for each next
   element ``acc = M(acc * (x - zp_in))`` with ``M`` TFLite's int64-input
   MultiplyByQuantizedMultiplier by ``m`` (multiplier rounded to 16 bits, one rounding shift,
   cast to int32).  The rescaling is not associative, so the step gathers the input into an
   int64 scratch of shape (outputs, n) and walks its columns in order, vectorised across outputs.
3. ``M(acc) + zp_out``, clamped to the type.
"""

import numpy as np

from ._reduce import ReduceKernel, mbqm_int64_into
from .base import PrepareContext, Step
from .quant import quantize_multiplier
from .registry import register


@register("REDUCE_PROD", versions=range(1, 3))
class ReduceProd(ReduceKernel):
    ufunc = np.multiply

    def setup(self, ctx: PrepareContext, out_shape: tuple[int, ...]) -> None:
        self.quantized = self.small_int and self.in_q.is_quantized
        if not self.quantized:
            return
        if self.dtype == np.uint8:
            ctx.fail("quantized uint8 is not supported (TFLite's quantized REDUCE_PROD takes int8 and int16)")
        if self.dtype == np.int16 and (self.in_q.zero_point or self.out_q.zero_point):
            ctx.fail(f"int16 input and output must have zero point 0, got {self.in_q.zero_point} and "
                     f"{self.out_q.zero_point}")
        self.requantizes = True
        if self.in_empty or self.out_empty:
            return
        n_out = int(np.prod(out_shape, dtype=np.int64))
        n_red = int(np.prod(self.in_shape, dtype=np.int64)) // n_out
        m = float(self.in_q.scale) / float(self.out_q.scale) ** (1.0 / n_red)
        q, shift = quantize_multiplier(m)
        self.q, self.shift = int(q), int(shift)
        kept = [i for i in range(len(self.in_shape)) if i not in self.axes]
        self.perm = tuple(kept) + self.axes
        self.gather_shape = tuple(self.in_shape[i] for i in self.perm)
        self.buf_slot = ctx.scratch((n_out, self.count), np.int64)
        self.acc_slot = ctx.scratch((n_out,), np.int64)

    def empty_value(self) -> int:
        # TFLite's quantized kernel returns without writing; numlite gives the zero point
        return self.out_q.zero_point if self.quantized else 1

    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        if not self.quantized:
            return super().compute(x, out, scratch)
        buf, acc = scratch[self.buf_slot], scratch[self.acc_slot]
        gathered, src = buf.reshape(self.gather_shape), x.transpose(self.perm)
        cols = [buf[:, k] for k in range(buf.shape[1])]
        flat_out = out.reshape(-1)
        zp_in, zp_out, q, shift = self.in_q.zero_point, self.out_q.zero_point, self.q, self.shift
        info = np.iinfo(self.dtype)
        lo, hi = int(info.min), int(info.max)

        def prod_quantized() -> None:
            np.copyto(gathered, src)
            np.subtract(buf, zp_in, out=buf)
            np.copyto(acc, cols[0])
            for c in cols[1:]:
                np.multiply(acc, c, out=acc)
                mbqm_int64_into(acc, q, shift)
            mbqm_int64_into(acc, q, shift)
            np.add(acc, zp_out, out=acc)
            np.clip(acc, lo, hi, out=acc)
            np.copyto(flat_out, acc, casting="unsafe")

        return prod_quantized
