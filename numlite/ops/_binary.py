"""Base for broadcasting binary elementwise ops (float and integer forms).

1. Both inputs must have the same dtype, one of the op's ``dtypes``.
2. The output shape is NumPy broadcasting of the two input shapes (TFLite's rules agree for
   the shapes it accepts).
3. Eval is one ufunc call writing into the planned output view, then the fused activation
   (float only) in place.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .base import Kernel, PrepareContext, Step, chain, check_activation, make_activation

FLOAT_INT = (np.float32, np.int32, np.int64)


class BinaryKernel(Kernel):
    dtypes: ClassVar[tuple[Any, ...]] = FLOAT_INT
    has_activation: ClassVar[bool] = True

    def compute(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> Step:
        """Return the step computing ``out = op(a, b)``; default: ``self.ufunc``."""
        f = self.ufunc  # type: ignore[attr-defined]
        return lambda: f(a, b, out=out)

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        a, b = ctx.input(0), ctx.input(1)
        ctx.expect_dtype(a, self.dtypes)
        if np.dtype(a.dtype) != np.dtype(b.dtype):
            ctx.fail(f"input types differ: {a.describe()} vs {b.describe()}")
        try:
            shape = np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            ctx.fail(f"cannot broadcast {a.describe()} with {b.describe()}")
        ctx.set_output(0, shape, a.dtype)
        self.act = int(self.options.get("fused_activation_function") or 0) if self.has_activation else 0
        if self.act:
            check_activation(ctx, self.act, (0, 1, 2, 3) if np.dtype(a.dtype).kind == "f" else (0, 1, 2, 3))
        self.is_float = np.dtype(a.dtype).kind == "f"

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        a, b = inputs[0], inputs[1]
        out = outputs[0]
        return chain(self.compute(a, b, out), make_activation(self.act, out))
