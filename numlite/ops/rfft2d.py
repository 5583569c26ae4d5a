"""RFFT2D: the 2-D real-to-complex FFT over the two innermost dimensions (version 1, as LiteRT 2.3).

1. Inputs: float32 ``x`` of shape ``[..., H, W]`` (rank 2 or more) and an int32 ``fft_length``
   vector ``[fh, fw]``; both lengths must be powers of two (LiteRT's FFT library, Ooura's
   ``fft2d``, handles only those; 0 and negatives are refused too).  Other types and shapes are
   refused at prepare, naming the tensor.
2. Output: complex64 ``[..., fh, fw // 2 + 1]`` (LiteRT forces the output type to complex64
   whatever the model declares, and so does numlite); element ``[u, v]`` is
   ``sum x[m, n] exp(-2 pi i (u m / fh + v n / fw))``, as ``tf.signal.rfft2d``.
3. Crop / pad: each ``H x W`` slice is cropped to its top-left ``min(H, fh) x min(W, fw)`` and
   zero-padded at the bottom / right to ``fh x fw`` (TFLite's ``PrepareInputBuffer``).
4. Arithmetic: the padded slice is held in float64 and transformed by NumPy's pocketfft in
   double precision (``np.fft.rfft2`` with ``out=`` on NumPy 2; NumPy 1 allocates its result);
   the result is rounded to complex64.  TFLite also transforms in double and rounds, so the two
   differ by about one float32 ulp of the largest magnitude.  The float64 input and complex128
   result are scratch buffers.
5. A constant (or folded) ``fft_length`` fixes the output shape at prepare; one known only at
   invoke makes the output dynamic, and the step checks it (an error names the op and node).
6. ``fw == 1``: LiteRT 2.3 returns wrong values (Ooura's real FFT needs at least 2 points);
   numlite returns the true transform (the FFT of the first column).
7. A length pair whose output or working buffers would exceed this machine's memory is refused
   (no allocation is attempted).
"""

from __future__ import annotations

import numpy as np

from .base import Kernel, PrepareContext, Step, check_alloc
from .registry import register

INPUT, FFT_LENGTH = 0, 1


def length_error(values: list[int]) -> str | None:
    """Why ``values`` is not a valid ``fft_length``, or None."""
    for v in values:
        if v <= 0 or v & (v - 1):
            return f"fft_length {values} must hold two powers of two (got {v})"
    return None


def working_bytes(batch: int, fh: int, fw: int) -> int:
    """Output (complex64) plus float64 input and complex128 result buffers, in bytes."""
    return batch * (fh * (fw // 2 + 1) * (8 + 16) + fh * fw * 8)


#: ``np.fft`` functions take ``out=`` from NumPy 2.0 on
_FFT_OUT = np.lib.NumpyVersion(np.__version__) >= "2.0.0"

@register("RFFT2D", versions=(1,))
class Rfft2d(Kernel):
    options_table = "Rfft2dOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        from ..executor import memory_limit  # lazy: the executor imports the op registry

        ctx.expect_inputs(2)
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        x, fl = ctx.input(INPUT), ctx.input(FFT_LENGTH)
        ctx.expect_dtype(x, (np.float32,))
        if x.rank < 2:
            ctx.fail(f"input {x.describe()} must have rank 2 or more")
        ctx.expect_dtype(fl, (np.int32,), "fft_length")
        if fl.shape != (2,):
            ctx.fail(f"fft_length {fl.describe()} must be a vector of 2 values")
        self.where = f"{self.op_name} (node {self.node.index})"
        self.lead = tuple(x.shape[:-2])
        self.batch = int(np.prod(self.lead, dtype=np.int64))
        self.h, self.w = x.shape[-2], x.shape[-1]
        self.limit = memory_limit()
        if fl.value is None:
            ctx.set_output_dynamic(0, np.complex64)
            self.fft_shape = None
            return
        values = [int(v) for v in np.asarray(fl.value).reshape(-1)]
        err = length_error(values) or self.size_error(*values)
        if err:
            ctx.fail(f"{err} (fft_length {fl.describe()}, input {x.describe()})")
        fh, fw = values
        self.fft_shape = (fh, fw)
        ctx.set_output(0, (*self.lead, fh, fw // 2 + 1), np.complex64)
        self.buf_slot = ctx.scratch((*self.lead, fh, fw), np.float64)
        self.res_slot = ctx.scratch((*self.lead, fh, fw // 2 + 1), np.complex128)

    def size_error(self, fh: int, fw: int) -> str | None:
        need = working_bytes(self.batch, fh, fw)
        if need > self.limit:
            return f"fft_length {[fh, fw]} needs {need} bytes of buffers, more than this machine's {self.limit}"
        return None

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        x, out = inputs[INPUT], outputs[0]
        if self.fft_shape is None:
            return self.dynamic_step(x, inputs[FFT_LENGTH], out)
        fh, fw = self.fft_shape
        buf, res = scratch[self.buf_slot], scratch[self.res_slot]
        vh, vw = min(self.h, fh), min(self.w, fw)
        src, dst = x[..., :vh, :vw], buf[..., :vh, :vw]
        pad_rows, pad_cols = buf[..., vh:, :], buf[..., :vh, vw:]
        if out.size == 0:
            return lambda: None

        def step() -> None:
            # the scratch is shared with other nodes: the padding is written on every invoke
            pad_rows.fill(0.0)
            pad_cols.fill(0.0)
            np.copyto(dst, src)
            if _FFT_OUT:
                np.fft.rfft2(buf, axes=(-2, -1), out=res)
                np.copyto(out, res, casting="unsafe")
            else:  # NumPy 1: no out= (the transform allocates its result)
                np.copyto(out, np.fft.rfft2(buf, axes=(-2, -1)), casting="unsafe")

        return step

    def dynamic_step(self, x: np.ndarray, fl: np.ndarray, out) -> Step:
        where = self.where

        def step() -> None:
            values = [int(v) for v in fl.reshape(-1)]
            err = length_error(values) or self.size_error(*values)
            if err:
                raise RuntimeError(f"{where}: {err}")
            fh, fw = values
            check_alloc(where, (*self.lead, fh, fw // 2 + 1), np.complex64)
            if x.size == 0 or self.batch == 0:
                res = np.zeros((*self.lead, fh, fw // 2 + 1), np.complex64)
            else:
                res = np.fft.rfft2(x.astype(np.float64), s=(fh, fw), axes=(-2, -1)).astype(np.complex64)
            out.set(res)

        return step
