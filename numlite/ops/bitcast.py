"""BITCAST: reinterpret the input's bytes as the output tensor's type, version 1, as LiteRT 2.3.

1. The output type is the one the model declares for the output tensor (BITCAST has no
   options); any fixed-size type on either side (float16/32/64, (u)int8..64, bool, complex).
   Strings and the sub-byte packed types (INT4, UINT4, INT2) have no element size and are
   refused, as LiteRT's ``GetSizeOfType`` refuses strings.
2. Shape, as TFLite's ``bitcast.cc``: equal element sizes keep the shape; a wider input gains a
   last dimension of ``in_size / out_size`` (float32 (2,) -> uint8 (2, 4)); a narrower input
   must end in a dimension of exactly ``out_size / in_size``, which is dropped (uint8 (2, 4) ->
   float32 (2,)).  Otherwise, or for a 0-d input that would need a last dimension, the model is
   refused at prepare naming the tensor (LiteRT fails its check the same way).
3. The step copies the bytes unchanged (``np.copyto`` between ``uint8`` views of the two planned
   buffers; the host's byte order, little-endian, as LiteRT's ``memcpy``).  Quantization
   parameters are ignored on both sides, as in LiteRT.
"""

from __future__ import annotations

import numpy as np

from .base import Kernel, PrepareContext, Step
from .registry import register

UNSIZED = ("INT4", "UINT4", "INT2")


@register("BITCAST", versions=(1,))
class Bitcast(Kernel):
    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        x, out = ctx.input(0), ctx.outputs[0]
        for s, role in ((x, "input"), (out, "output")):
            if s.dtype is None or np.dtype(s.dtype).kind in "OUSV" or s.type_name in UNSIZED:
                name = s.type_name or (np.dtype(s.dtype).name if s.dtype is not None else "unknown")
                ctx.fail(f"{role} {s.describe()} has type {name}, which has no fixed element size to bitcast")
        n_in, n_out = np.dtype(x.dtype).itemsize, np.dtype(out.dtype).itemsize
        if n_in > n_out:
            shape = x.shape + (n_in // n_out,)
        elif n_in < n_out:
            ratio = n_out // n_in
            if x.rank == 0 or x.shape[-1] != ratio:
                ctx.fail(f"input {x.describe()} must end in a dimension of {ratio} to become "
                         f"{np.dtype(out.dtype).name} (one {n_out}-byte element per {ratio} {n_in}-byte ones)")
            shape = x.shape[:-1]
        else:
            shape = x.shape
        ctx.set_output(0, shape, out.dtype)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        x, out = inputs[0], outputs[0]
        if not (x.flags.c_contiguous and out.flags.c_contiguous):  # planned buffers always are
            return lambda: np.copyto(out, np.ascontiguousarray(x).reshape(-1).view(out.dtype).reshape(out.shape))
        src, dst = x.reshape(-1).view(np.uint8), out.reshape(-1).view(np.uint8)
        return lambda: np.copyto(dst, src)
