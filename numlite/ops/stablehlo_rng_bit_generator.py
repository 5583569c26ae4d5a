"""STABLEHLO_RNG_BIT_GENERATOR: random bits and the next generator state from a uint64 state
vector (version 1, as LiteRT 2.3's ``rng_bit_generator.cc``; generators in ``_random``).

1. Input: the uint64 state vector.  Outputs: the new state (uint64, the input's shape) and the
   bits: int32, uint32, int64 or uint64 of the shape the model declares (StableHLO's output has
   a static shape).  Other types are refused.
2. ``StablehloRngBitGeneratorOptions.algorithm``: DEFAULT and PHILOX use Philox4x32-10,
   THREEFRY Threefry2x32-20; another value is refused at prepare (LiteRT fails at invoke).
3. The state's 64-bit values are read as 32-bit words, low word first.  Philox (state of 2 or 3
   values): key = ``state[0]``; counter = ``state[1]`` in the low 64 bits and ``state[2]`` (or,
   for a 2-value state, ``state[0]`` again, as TFLite reads it) in the high 64 bits.  Threefry
   (state of exactly 2 values): key = ``state[0]``, counter = ``state[1]``.  Other state sizes
   are refused at prepare (LiteRT fails at invoke).
4. Blocks of 4 (Philox) or 2 (Threefry) 32-bit words are generated for counters
   ``state[1] + i``, the increment wrapping modulo 2**64 without touching the high half; their
   words fill the output in memory order (a 64-bit output value takes two words, low first);
   the unused words of the last block are dropped.
5. The new state is the input state with ``state[1]`` advanced by the number of blocks used
   (modulo 2**64): feeding it back continues the stream.
6. Deterministic, so the node is folded at prepare when the state is constant; bit-identical to
   LiteRT.  An output whose size exceeds memory is refused.  numlite infers the new state's
   shape from the input (LiteRT also insists the model declares that same shape).
"""

from __future__ import annotations

import numpy as np

from ._random import M64, PHILOX_WORDS, THREEFRY_WORDS, BlockWorkspace, size_error
from .base import Kernel, PrepareContext, Step
from .registry import register

STATE = 0
OUT_STATE, OUT_BITS = 0, 1
BITS_DTYPES = (np.int32, np.uint32, np.int64, np.uint64)
DEFAULT, PHILOX, THREEFRY = 0, 1, 2
ALGORITHMS = {DEFAULT: "DEFAULT", PHILOX: "PHILOX", THREEFRY: "THREEFRY"}


@register("STABLEHLO_RNG_BIT_GENERATOR", versions=(1,))
class StablehloRngBitGenerator(Kernel):
    options_table = "StablehloRngBitGeneratorOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        if len(ctx.outputs) != 2:
            ctx.fail(f"expects 2 outputs (new state, bits), got {len(ctx.outputs)}")
        state = ctx.input(STATE)
        ctx.expect_dtype(state, (np.uint64,), "initial state")
        if state.rank != 1:
            ctx.fail(f"initial state {state.describe()} must be a vector")
        new_state, bits = ctx.outputs
        if new_state.dtype is not None:
            ctx.expect_dtype(new_state, (np.uint64,), "output state")
        if bits.dtype is None:
            ctx.fail(f"output {bits.describe()} has no type")
        ctx.expect_dtype(bits, BITS_DTYPES, "output")
        alg = int(self.options.get("algorithm") or 0)
        if alg not in ALGORITHMS:
            ctx.fail(f"unknown RNG algorithm {alg}; supported: DEFAULT (0), PHILOX (1), THREEFRY (2)")
        self.threefry = alg == THREEFRY
        sizes = (2,) if self.threefry else (2, 3)
        if state.shape[0] not in sizes:
            ctx.fail(f"initial state {state.describe()} must hold {' or '.join(map(str, sizes))} values for "
                     f"{ALGORITHMS[alg]}")
        per_value = np.dtype(bits.dtype).itemsize // 4
        self.n_words = bits.size * per_value
        err = size_error(self.n_words * 16)
        if err:
            ctx.fail(f"output {bits.describe()} {err}")
        width = THREEFRY_WORDS if self.threefry else PHILOX_WORDS
        self.n_blocks = -(-self.n_words // width)
        self.width = width
        ctx.set_output(OUT_STATE, state.shape, np.uint64)
        ctx.set_output(OUT_BITS, bits.shape, bits.dtype)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        state, new_state, bits = inputs[STATE], outputs[OUT_STATE], outputs[OUT_BITS]
        ws = BlockWorkspace(self.n_blocks, self.width)
        n_words, n_blocks, threefry = self.n_words, self.n_blocks, self.threefry
        dst = bits.reshape(-1).view(np.uint32)
        three = state.shape[0] == 3

        def step() -> None:
            key, lo = int(state[0]), int(state[1])
            if threefry:
                words = ws.threefry(key, lo)
            else:
                hi = int(state[2]) if three else key
                words = ws.philox(key, lo | (hi << 64), carry=False)
            np.copyto(dst, words[:n_words])
            np.copyto(new_state, state)
            new_state[1] = (lo + n_blocks) & M64

        return step
