"""ONE_HOT: ``output[..., j, ...] = on if indices[...] == j else off``, matching LiteRT 2.3
(version 1).

1. Inputs: indices (int32 or int64), depth (one element), on_value and off_value (one element
   each, of the output's type: float32, int32, int64, int8, uint8 or bool; LiteRT's prepare
   also passes int16, whose evaluation then fails, so numlite refuses it).  The output dtype is
   on_value's.
2. ``axis`` (option; -1 means last) places the new dimension of size ``depth`` in the output,
   of rank ``indices.rank + 1``; other negative axes are errors, as in LiteRT.
3. ``depth`` decides the output shape, so numlite needs it at prepare (a constant or a value
   folded from constants and shapes; LiteRT accepts a runtime depth by making the output
   dynamic).  It must be int32 or int64 and not negative.  on / off values may be computed at
   run time.
4. Like LiteRT, each index is converted to C ``int`` before the comparison: an int64 index is
   wrapped to 32 bits (``2**32 + 1`` selects position 1); negative and too-large indices select
   nothing (the whole fibre is ``off``).
5. The step compares the indices (viewed with a unit dimension at ``axis``; int64 ones first
   wrapped into an int32 scratch) with a prepared ``arange(depth)`` into a bool scratch, fills
   the output with ``off`` and copies ``on`` where the mask holds: no temporaries.
"""

from __future__ import annotations

import numpy as np

from .base import Kernel, PrepareContext, Step
from .registry import register

INDICES, DEPTH, ON, OFF = 0, 1, 2, 3
ONE_HOT_DTYPES = (np.float32, np.int32, np.int64, np.int8, np.uint8, np.bool_)


@register("ONE_HOT", versions=(1,))
class OneHot(Kernel):
    options_table = "OneHotOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(4)
        ix, depth, on, off = (ctx.input(i) for i in (INDICES, DEPTH, ON, OFF))
        ctx.expect_dtype(on, ONE_HOT_DTYPES, "on_value")
        ctx.expect_dtype(ix, (np.int32, np.int64), "indices")
        ctx.expect_dtype(depth, (np.int32, np.int64), "depth")
        if np.dtype(off.dtype) != np.dtype(on.dtype):
            ctx.fail(f"off_value {off.describe()} must have on_value's type {np.dtype(on.dtype).name}")
        for spec, role in ((depth, "depth"), (on, "on_value"), (off, "off_value")):
            if spec.size != 1:
                ctx.fail(f"{role} {spec.describe()} must hold exactly one value")
        rank = ix.rank + 1
        axis = int(self.options.get("axis") or 0)
        axis = ix.rank if axis == -1 else axis
        if not 0 <= axis < rank:
            ctx.fail(f"axis {self.options.get('axis')} is out of range for an output of rank {rank}")
        d = int(np.asarray(ctx.constant(DEPTH, "depth")).reshape(-1)[0])
        if d < 0:
            ctx.fail(f"depth {d} must not be negative")
        shape = ix.shape[:axis] + (d,) + ix.shape[axis:]
        ctx.set_output(0, shape, on.dtype)
        self.idx_view = ix.shape[:axis] + (1,) + ix.shape[axis:]
        self.positions = np.arange(d, dtype=np.int32).reshape((d,) + (1,) * (rank - axis - 1))
        self.mask_slot = ctx.scratch(shape, np.bool_)
        self.wrap_slot = ctx.scratch(ix.shape, np.int32) if np.dtype(ix.dtype) == np.int64 else None

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        out = outputs[0]
        if out.size == 0:
            return lambda: None
        ix = inputs[INDICES]
        on, off = inputs[ON].reshape(()), inputs[OFF].reshape(())
        mask, pos = scratch[self.mask_slot], self.positions
        wrap = None
        if self.wrap_slot is not None:
            wrap, src = scratch[self.wrap_slot], ix
            ix = wrap
        view = ix.reshape(self.idx_view)
        copyto, equal = np.copyto, np.equal

        def step() -> None:
            if wrap is not None:
                copyto(wrap, src, casting="unsafe")  # C's int64 -> int cast: keep the low 32 bits
            equal(view, pos, out=mask)
            copyto(out, off)
            copyto(out, on, where=mask)

        return step
