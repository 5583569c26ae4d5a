"""EMBEDDING_LOOKUP: ``out[i] = value[ids[i]]`` (rows of a table of rank >= 2).

1. Inputs: int32 ``ids [N]`` and ``value [R, ...]``; output ``[N, ...]``.
2. Same-type lookup (any numeric type; LiteRT 2.3 copies the rows' bytes, measured for float32,
   int8, uint8, int32 and int64): a row gather (``np.take``).
3. Hybrid (int8 or uint8 table, float32 output), as LiteRT: each row is dequantized as
   ``float32(double(v) * double(scale))`` where ``scale`` is the tensor's scale, or the looked-up
   row's own scale when the table has one scale per row (per-channel on dimension 0).  The zero
   point must be 0 (LiteRT checks the first one); LiteRT reads uint8 bytes as int8, and so does
   numlite (measured).  The
   per-row scale vector is prepared once; the step is a gather, a scale gather and a multiply.
4. Ids are checked at every invoke (constant ids at prepare): an id outside ``[0, R)`` raises
   RuntimeError naming the op and node (LiteRT fails the invoke too).

Versions 1 to 5, as LiteRT 2.3 registers them.  Strings are not supported yet.
"""

from __future__ import annotations

import numpy as np

from .base import Kernel, PrepareContext, Step
from .registry import register

IDS, VALUE = 0, 1
F32, I8, U8, I32 = (np.dtype(t) for t in (np.float32, np.int8, np.uint8, np.int32))
NUMERIC = (np.float32, np.float16, np.float64, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64,
           np.uint64, np.bool_)


def check_ids(ctx: PrepareContext, spec, n: int) -> bool:
    """Validate constant ids now; True when they must be checked at invoke."""
    if spec.value is None:
        return True
    v = np.asarray(spec.value)
    if v.size and (v.min() < 0 or v.max() >= n):
        bad = v[(v < 0) | (v >= n)].flat[0]
        ctx.fail(f"id {int(bad)} in {spec.describe()} is out of range [0, {n})")
    return False


def ids_checker(ids: np.ndarray, n: int, where: str):
    def check() -> None:
        if ids.size and (ids.min() < 0 or ids.max() >= n):
            bad = ids[(ids < 0) | (ids >= n)].flat[0]
            raise RuntimeError(f"{where}: id {int(bad)} is out of range [0, {n})")

    return check


@register("EMBEDDING_LOOKUP", versions=(1, 2, 3, 4, 5))
class EmbeddingLookup(Kernel):
    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        ids, value = ctx.input(IDS), ctx.input(VALUE)
        ctx.expect_dtype(ids, (I32,), "ids")
        ctx.expect_rank(ids, 1, "ids")
        if value.rank < 2:
            ctx.fail(f"value {value.describe()} must have rank >= 2")
        ctx.expect_dtype(value, NUMERIC, "value")
        out = ctx.outputs[0]
        vt, ot = np.dtype(value.dtype), np.dtype(out.dtype) if out.dtype is not None else np.dtype(value.dtype)
        self.hybrid = vt in (I8, U8) and ot == F32
        if not self.hybrid and ot != vt:
            ctx.fail(f"output {out.describe()} must be {vt.name} (or float32 for a quantized table)")
        rows = value.shape[0]
        self.rows = rows
        if self.hybrid:
            scales = np.asarray(value.quantization.scales, np.float32).reshape(-1)
            if scales.size not in (1, rows):
                ctx.fail(f"value {value.describe()} needs one scale or one per row ({rows}), got {scales.size}")
            zps = np.asarray(value.quantization.zero_points).reshape(-1)
            if zps.size and zps[0] != 0:
                ctx.fail(f"value {value.describe()} must have zero point 0 for a float output (as LiteRT)")
            self.scales = np.broadcast_to(scales.astype(np.float64), (rows,)).copy()
            cols = int(np.prod(value.shape[1:], dtype=np.int64))
            n = ids.shape[0]
            self.cols = cols
            self.s_rows = ctx.scratch((n, cols), np.float64)
            self.s_raw = ctx.scratch((n, cols), np.int8)
            self.s_sc = ctx.scratch((n, 1), np.float64)
        self.check = check_ids(ctx, ids, rows)
        ctx.set_output(0, (ids.shape[0], *value.shape[1:]), F32 if self.hybrid else vt)

    def bind(self, inputs, outputs, scratch) -> Step:
        ids, value, out = inputs[IDS], inputs[VALUE], outputs[0]
        check = ids_checker(ids, self.rows, f"{self.op_name} (node {self.node.index})") if self.check else None
        if not self.hybrid:
            def gather() -> None:
                if check is not None:
                    check()
                np.take(value, ids, axis=0, out=out, mode="clip")

            return gather
        table = value.reshape(self.rows, self.cols).view(np.int8)  # LiteRT reads uint8 bytes as int8
        rows, raw, sc, scales = scratch[self.s_rows], scratch[self.s_raw], scratch[self.s_sc], self.scales
        o2 = out.reshape(-1, self.cols)

        def hybrid() -> None:
            if check is not None:
                check()
            np.take(table, ids, axis=0, out=raw, mode="clip")
            np.take(scales, ids, out=sc[:, 0], mode="clip")
            np.multiply(raw, sc, out=rows)
            np.copyto(o2, rows, casting="unsafe")

        return hybrid
