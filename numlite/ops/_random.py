"""Random family base: counter-based generators and the seeded-stream ops built on them.

Generators (vectorised over many counters at once, NumPy integer arithmetic only):

1. ``Philox4x32-10`` (Salmon et al., SC 2011): a 128-bit counter (four 32-bit words ``c0..c3``)
   and a 64-bit key (``k0, k1``) give four 32-bit output words.  One round multiplies ``c0`` by
   ``0xD2511F53`` and ``c2`` by ``0xCD9E8D57`` (64-bit products), and makes
   ``(hi(c2*B) ^ c1 ^ k0, lo(c2*B), hi(c0*A) ^ c3 ^ k1, lo(c0*A))``; the key is bumped by
   ``(0x9E3779B9, 0xBB67AE85)`` between rounds; ten rounds.  The words are held in ``uint64``
   arrays so the products are exact.
2. ``Threefry2x32-20``: a 64-bit counter and key give two output words; five groups of four
   add / rotate / xor rounds with rotations ``(13, 15, 26, 6)`` and ``(17, 29, 16, 24)``
   alternating, and key injection (``k0, k1, k0 ^ k1 ^ 0x1BD11BDA``, plus the group number)
   after each group.
3. ``BlockWorkspace`` holds the buffers of ``n`` consecutive blocks (allocated once, at bind)
   and computes them for a start counter: the low 64 bits of block ``i``'s counter are
   ``start + i`` wrapping modulo 2**64; whether the wrap carries into the high 64 bits is the
   caller's choice (TFLite's ``PhiloxRandom::SkipOne`` carries through all 128 bits; the
   StableHLO bit generator increments a 64-bit counter only).

Seeded stream ops (RANDOM_UNIFORM, RANDOM_STANDARD_NORMAL, MULTINOMIAL), as TFLite's
``random_ops.cc``:

4. ``RandomOptions`` ``seed`` and ``seed2`` are int64 in the schema, but TFLite keeps them as C
   ``int``s: the low 32 bits, sign-extended back to 64 (measured: seed ``2**40`` acts as 0, seed
   ``-1`` as ``2**64 - 1``).  They start a Philox stream with key = ``seed`` (low word first)
   and counter ``(0, 0, lo(seed2), hi(seed2))``.  Both 0 (after the truncation) means
   nondeterministic: two 64-bit seeds are drawn from the OS entropy pool instead (TFLite draws
   them from a process-wide ``mt19937_64`` seeded by ``/dev/urandom``; neither is reproducible).
5. The stream is restarted at every ``prepare`` (TFLite initialises it in its Prepare) and
   continues across invokes: each invoke takes the next blocks.  Random ops are never folded at
   prepare, even with a constant shape.  Limit: numlite's ``allocate_tensors`` prepares every
   node again, so it restarts the stream each time it is called; LiteRT's does nothing unless an
   input was resized (then it restarts too).
6. Conversions, as TensorFlow's ``random_distributions``: a float in ``[0, 1)`` from the low 23
   bits of a word (``(w & 0x7FFFFF) * 2**-23``) and a double in ``[0, 1)`` from the low 20 bits
   of one word and all 32 of the next (``m * 2**-52``), both exact; normal pairs by Box-Muller
   (``box_muller``, within a few float32 ulp of LiteRT).
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy as np

from .base import Kernel, PrepareContext, Step, check_alloc

M32 = 0xFFFFFFFF
M64 = (1 << 64) - 1
M128 = (1 << 128) - 1
PHILOX_A, PHILOX_B = 0xD2511F53, 0xCD9E8D57
PHILOX_WA, PHILOX_WB = 0x9E3779B9, 0xBB67AE85
THREEFRY_PARITY = 0x1BD11BDA
THREEFRY_ROT = ((13, 15, 26, 6), (17, 29, 16, 24))
PHILOX_WORDS, THREEFRY_WORDS = 4, 2


class BlockWorkspace:
    """Buffers for ``nblocks`` consecutive generator blocks; ``philox`` / ``threefry`` fill
    ``words`` (``nblocks * width`` uint32, block-major) without allocating arrays that grow with
    ``nblocks``."""

    def __init__(self, nblocks: int, width: int):
        self.n, self.width = nblocks, width
        self.iota = np.arange(nblocks, dtype=np.uint64)
        self.lo = np.empty(nblocks, np.uint64)
        self.c = np.empty((width, nblocks), np.uint64 if width == PHILOX_WORDS else np.uint32)
        self.t = np.empty((2, nblocks), np.uint64 if width == PHILOX_WORDS else np.uint32)
        self.block_words = np.empty((nblocks, width), np.uint32)
        self.words = self.block_words.reshape(-1)

    def _counters(self, lo64: int, hi64: int, carry: bool) -> None:
        """Counter words of block ``i``: low 64 bits ``lo64 + i`` (mod 2**64); the high 64 bits
        ``hi64``, plus one after the low half wraps when ``carry``."""
        n, c = self.n, self.c
        np.add(self.iota, np.uint64(lo64), out=self.lo)
        np.bitwise_and(self.lo, np.uint64(M32), out=c[0], casting="unsafe")
        np.right_shift(self.lo, np.uint64(32), out=c[1], casting="unsafe")
        if self.width == THREEFRY_WORDS:
            return
        wrap = min(n, (1 << 64) - lo64) if carry else n
        hi_after = (hi64 + 1) & M64
        c[2, :wrap], c[3, :wrap] = hi64 & M32, hi64 >> 32
        c[2, wrap:], c[3, wrap:] = hi_after & M32, hi_after >> 32

    def philox(self, key: int, counter: int, carry: bool = True) -> np.ndarray:
        """Philox4x32-10 of the counters ``counter + i`` (128-bit), key ``key`` (64-bit)."""
        self._counters(counter & M64, (counter >> 64) & M64, carry)
        c0, c1, c2, c3 = self.c
        p0, p1 = self.t
        k0, k1 = key & M32, (key >> 32) & M32
        a, b, m32, s32 = np.uint64(PHILOX_A), np.uint64(PHILOX_B), np.uint64(M32), np.uint64(32)
        for _ in range(10):
            np.multiply(c0, a, out=p0)
            np.multiply(c2, b, out=p1)
            # each new word reads only the products and the old c1 / c3, which are replaced last
            np.right_shift(p1, s32, out=c0)
            np.bitwise_xor(c0, c1, out=c0)
            np.bitwise_xor(c0, np.uint64(k0), out=c0)
            np.bitwise_and(p1, m32, out=c1)
            np.right_shift(p0, s32, out=c2)
            np.bitwise_xor(c2, c3, out=c2)
            np.bitwise_xor(c2, np.uint64(k1), out=c2)
            np.bitwise_and(p0, m32, out=c3)
            k0, k1 = (k0 + PHILOX_WA) & M32, (k1 + PHILOX_WB) & M32
        np.copyto(self.block_words, self.c.T, casting="unsafe")
        return self.words

    def threefry(self, key: int, counter: int) -> np.ndarray:
        """Threefry2x32-20 of the counters ``counter + i`` (64-bit, wrapping), key ``key``."""
        self._counters(counter & M64, 0, False)
        x0, x1 = self.c
        tmp = self.t[0]
        ks = (key & M32, (key >> 32) & M32, (key & M32) ^ ((key >> 32) & M32) ^ THREEFRY_PARITY)
        np.add(x0, np.uint32(ks[0]), out=x0)
        np.add(x1, np.uint32(ks[1]), out=x1)
        for g in range(5):
            for r in THREEFRY_ROT[g % 2]:
                np.add(x0, x1, out=x0)
                np.left_shift(x1, np.uint32(r), out=tmp)
                np.right_shift(x1, np.uint32(32 - r), out=x1)
                np.bitwise_or(x1, tmp, out=x1)
                np.bitwise_xor(x1, x0, out=x1)
            np.add(x0, np.uint32(ks[(g + 1) % 3]), out=x0)
            np.add(x1, np.uint32((ks[(g + 2) % 3] + g + 1) & M32), out=x1)
        np.copyto(self.block_words, self.c.T)
        return self.words


def philox_skip(counter: int, count: int) -> int:
    """TFLite's ``PhiloxRandom::Skip(count)`` on a 128-bit counter: ``count`` (64-bit) is added
    word by word, and a carry out of the second word is propagated only while the high half of
    ``count`` does not itself wrap (a quirk kept for exactness; unreachable in practice)."""
    w = [(counter >> (32 * i)) & M32 for i in range(4)]
    count &= M64
    lo, hi = count & M32, count >> 32
    w[0] = (w[0] + lo) & M32
    if w[0] < lo:
        hi = (hi + 1) & M32
    w[1] = (w[1] + hi) & M32
    if w[1] < hi:
        w[2] = (w[2] + 1) & M32
        if w[2] == 0:
            w[3] = (w[3] + 1) & M32
    return w[0] | (w[1] << 32) | (w[2] << 64) | (w[3] << 96)


def words_to_unit_float(words: np.ndarray, out: np.ndarray) -> None:
    """``[0, 1)`` float32 from uint32 words: the low 23 bits as the mantissa of ``[1, 2)``,
    minus one - exactly ``(w & 0x7FFFFF) * 2**-23``."""
    np.bitwise_and(words, np.uint32(0x7FFFFF), out=words)
    np.multiply(words, np.float32(2.0 ** -23), out=out, casting="unsafe")


class NormalWorkspace:
    """Buffers of ``box_muller`` for ``n`` normal values (``ceil(n / 4)`` Philox blocks)."""

    def __init__(self, n: int):
        nb = -(-n // PHILOX_WORDS)
        self.n = n
        self.blocks = BlockWorkspace(nb, PHILOX_WORDS)
        self.u = np.empty(PHILOX_WORDS * nb, np.float32)
        self.d = np.empty(2 * nb, np.float64)
        self.r = np.empty(2 * nb, np.float32)
        self.res = np.empty(PHILOX_WORDS * nb, np.float32)


def box_muller(ws: NormalWorkspace, words: np.ndarray, out: np.ndarray) -> None:
    """TensorFlow's ``BoxMullerFloat`` on each pair of words (even word ``a``, odd word ``b``),
    written to ``out`` (``ws.n`` float32 values; a pair gives two consecutive values):

    1. ``ua, ub`` = the float32 uniforms of ``a, b`` (``words_to_unit_float``); ``ua`` is raised
       to ``1e-7f`` at least;
    2. ``r = sqrtf(-2 * logf(ua))``, ``v = float(2 pi * ub)`` (the product in double, as C++
       promotes ``2.0f * M_PI``);
    3. the pair is ``(r * sinf(v), r * cosf(v))`` in float32.

    ``logf``, ``sinf`` and ``cosf`` are evaluated in float64 and rounded to float32 (correctly
    rounded results); glibc's, which the LiteRT wheel calls, are faithful (under 1 ulp), so about
    1.5% of the values differ from LiteRT's by 1 to 3 ulp."""
    u, d, r, res = ws.u, ws.d, ws.r, ws.res
    words_to_unit_float(words, u)
    ua, ub = u[0::2], u[1::2]
    np.maximum(ua, np.float32(1.0e-7), out=ua)
    np.copyto(d, ua)
    np.log(d, out=d)
    np.copyto(r, d, casting="unsafe")
    np.multiply(r, np.float32(-2.0), out=r)
    np.sqrt(r, out=r)
    np.copyto(d, ub)
    np.multiply(d, 2.0 * np.pi, out=d)
    np.copyto(ua, d, casting="unsafe")  # v rounded to float32 (ua is free now) ...
    np.copyto(d, ua)  # ... and widened again for the float64 sin / cos
    np.sin(d, out=ub, casting="unsafe")
    np.multiply(ub, r, out=res[0::2])
    np.cos(d, out=ub, casting="unsafe")
    np.multiply(ub, r, out=res[1::2])
    np.copyto(out, res[: ws.n])


def os_seed() -> int:
    """A 64-bit seed from the OS entropy pool (the nondeterministic ``seed = seed2 = 0`` case)."""
    return int.from_bytes(os.urandom(8), "little")


def as_c_int(value: int) -> int:
    """An int64 option as TFLite keeps it in ``TfLiteRandomParams`` (a C ``int``: the low 32 bits,
    signed), widened back to 64 bits with its sign: the seed the stream starts from, as uint64."""
    v = int(value) & M32
    v = v - (1 << 32) if v >= 1 << 31 else v
    return v & M64


def size_error(n_bytes: int) -> str | None:
    """Why buffers of ``n_bytes`` cannot be allocated (more than physical memory), or None."""
    from ..executor import memory_limit  # lazy: the executor imports the op registry

    limit = memory_limit()
    if n_bytes > limit:
        return f"needs {n_bytes} bytes of buffers, more than this machine's {limit}"
    return None


class SeededRandomKernel(Kernel):
    """Base of the ``RandomOptions`` ops: the Philox stream of points 4-5, restarted in ``prepare``
    (``start_stream``) and advanced by the steps (``self.counter``, 128-bit)."""

    options_table: ClassVar[str | None] = "RandomOptions"
    foldable: ClassVar[bool] = False

    def start_stream(self) -> None:
        seed = as_c_int(self.options.get("seed") or 0)
        seed2 = as_c_int(self.options.get("seed2") or 0)
        if seed == 0 and seed2 == 0:
            seed, seed2 = os_seed(), os_seed()
        self.key = seed
        self.counter = seed2 << 64
        self.where = f"{self.op_name} (node {self.node.index})"

    def next_blocks(self, ws: BlockWorkspace) -> np.ndarray:
        """The stream's next ``ws.n`` Philox blocks as words; the counter moves past them."""
        words = ws.philox(self.key, self.counter)
        self.counter = (self.counter + ws.n) & M128
        return words


class ShapeRandomKernel(SeededRandomKernel):
    """RANDOM_UNIFORM / RANDOM_STANDARD_NORMAL: a float32 tensor of the shape held in input 0.

    1. Input 0 is an int32 vector (a scalar, int64 and other types are refused, as LiteRT's
       Prepare does); the output must be float32 (LiteRT fails other types at invoke, numlite at
       prepare).  A negative dimension is refused; so is a shape whose buffers exceed memory.
    2. A shape known at prepare fixes the output and the buffers (allocated once, at bind); one
       known only at invoke makes the output dynamic (checked by the step).
    3. Subclasses give ``workspace(n)`` and ``fill(ws, out)`` (``out`` flat, ``n`` values);
       ``fill`` takes the stream's next blocks with ``next_blocks``."""

    bytes_per_value: ClassVar[int] = 64  # output and workspace, generously

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        shape = ctx.input(0)
        ctx.expect_dtype(shape, (np.int32,), "shape")
        if shape.rank != 1:
            ctx.fail(f"shape {shape.describe()} must be a vector")
        out = ctx.outputs[0]
        if out.dtype is not None and np.dtype(out.dtype) != np.float32:
            ctx.fail(f"output {out.describe()} must be float32")
        self.start_stream()
        self.shape_name = shape.describe()
        if shape.value is None:
            ctx.set_output_dynamic(0, np.float32)
            self.dims = None
            return
        dims = [int(d) for d in np.asarray(shape.value).reshape(-1)]
        err = self.shape_error(dims)
        if err:
            ctx.fail(f"{err} (shape {shape.describe()})")
        self.dims = dims
        ctx.set_output(0, dims, np.float32)

    def shape_error(self, dims: list[int]) -> str | None:
        if any(d < 0 for d in dims):
            return f"output shape {dims} has a negative dimension"
        return size_error(int(np.prod(dims, dtype=object)) * self.bytes_per_value)

    def workspace(self, n: int) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def fill(self, ws: Any, out: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        fill, out = self.fill, outputs[0]
        if self.dims is not None:
            flat = out.reshape(-1)
            ws = self.workspace(flat.size)
            return lambda: fill(ws, flat)
        shape, where, name = inputs[0], self.where, self.shape_name
        cache: dict[int, Any] = {}

        def step() -> None:
            dims = [int(d) for d in shape]
            err = self.shape_error(dims)
            if err:
                raise RuntimeError(f"{where}: {err} (shape {name})")
            check_alloc(where, dims, np.float32)
            n = int(np.prod(dims, dtype=np.int64))
            ws = cache.get(n)
            if ws is None:
                cache.clear()
                ws = cache[n] = self.workspace(n)
            res = np.empty(dims, np.float32)
            fill(ws, res.reshape(-1))
            out.set(res)

        return step
