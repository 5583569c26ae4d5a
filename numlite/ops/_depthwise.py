"""Float32 depthwise convolution engine (NHWC), built for speed on NumPy.

Algorithm (``DepthwisePlan``; geometry in ``__init__`` at prepare time, views in ``bind``):

1. Depth multiplier ``M = Cout / Cin``: output channel ``c*M + m`` reads input channel ``c``.
   The input is brought into a *source* layout in which every channel is already repeated
   ``M`` times, so the rest of the algorithm is a plain ``Cout``-channel depthwise conv.
2. Source layout: per batch item a 2-D array ``S[rows, row_len]`` such that the input of tap
   ``(kh, kw)`` for output row ``i`` is the contiguous run
   ``S[i*stride_h + kh*dilation_h, kw*col_step : kw*col_step + Wo*Cout]``.  Three forms:

   * ``direct``: stride_w 1, no padding needed, M 1 - the input itself, no copy;
   * ``padded``: stride_w 1 - a zero-padded copy, rows viewed as ``[Hs, Ws*Cout]``;
     ``col_step = dilation_w*Cout``;
   * ``phased``: stride_w > 1 - per kernel column ``kw`` a block holding the input columns
     ``j*stride_w + kw*dilation_w`` (j = 0..Wo-1), so the block row is already strided;
     ``col_step = Wo*Cout``.

   Copies and border zeroing are precomputed view pairs; the borders are zeroed on every
   invoke because the source lives in the shared arena.
3. Tap pass per row tile of ``R`` output rows: one ``np.multiply`` of a strided view holding
   all ``KH*KW`` tap runs ``[KH, KW, R, Wo*Cout]`` by the prepared per-tap weight rows
   ``[KH, KW, 1, Wo*Cout]`` (weights tiled along W once, at prepare time) into a product
   buffer, then one BLAS gemv ``ones @ products`` summing the taps straight into the output
   tile.  The bias is an extra, constant row of the product buffer (written once per invoke),
   so it is added by the same gemv.  The fused activation is applied to the tile while it is
   in cache.  R is picked so the product buffer stays in L2 (about 384 KiB).
4. With a thread pool the tiles are split into contiguous groups, one product buffer each;
   the source copy is split by rows and finished before any tile starts.

5. Quantized forms (``_qdepthwise``) reuse the engine on integer values: the plan's ``dtype``
   (float32 or float64) is the engine's, the source holds the raw integer input cast to it
   (never ``direct``), borders are filled with ``pad_value`` (the input zero point), the
   constant row carries the zero-point-corrected bias, and the gemv writes into a per-worker
   accumulator.  Consecutive tiles of one image fill it up to ``EPILOGUE_ELEMS`` values (a
   *chunk*), then an ``epilogue`` step (requantization into the output rows) consumes it while
   it is in cache: a chunk larger than a tile amortises NumPy's per-call cost over the
   epilogue's many element-wise passes.  The caller proves at prepare time that every partial sum is an exactly
   representable integer (see ``_qdepthwise``).

Guarantees / limits: float results equal the direct sum over taps up to float32 rounding order
(the gemv may sum in a different order than TFLite).  All views are built in ``bind``; an
invoke runs only ufuncs / copies into them (the pool's futures are the only allocations).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .base import ACT_RELU, ACT_RELU6, ACT_RELU_N1_TO_1, Step

F32 = np.dtype(np.float32)
#: at most about this many row tiles per layer (absurd shapes get bigger tiles)
MAX_TILES = 4096
#: target size of one product buffer (bytes); keeps a tile's working set in L2
PRODUCT_BYTES = 384 * 1024
#: below this many multiply-adds per invoke the pool is not used.  Measured on single layers,
#: 14x14x512 (0.9M) and smaller ran slower on two threads than on one; in whole MobileNets at
#: 2 threads, splitting even the largest layers was no faster (v1 9.18 vs 8.87 ms, v2 8.16 vs
#: 7.79 ms with the split): the pool thread competes with OpenBLAS's worker, which keeps
#: spinning after the preceding pointwise convolution.  So whole-model runs leave depthwise
#: layers to one thread unless they are very large.
PARALLEL_MIN_MACS = 20_000_000
#: values per epilogue chunk (quantized forms); measured on MobileNet v1 layers (1 thread): the
#: int8 layers took 1.25x / 1.2x / 1.0x the time at 8K / 16K / 32K values as at 64K, and no
#: less beyond
EPILOGUE_ELEMS = 64 * 1024


class DepthwisePlan:
    """Geometry and scratch layout of one depthwise convolution (see module docstring)."""

    def __init__(self, in_shape: tuple[int, ...], kh: int, kw: int, cout: int, stride: tuple[int, int],
                 dilation: tuple[int, int], out_hw: tuple[int, int], pad_tl: tuple[int, int],
                 has_bias: bool, act: int, num_threads: int = 1, tile_rows: int | None = None,
                 dtype: np.dtype = F32, pad_value: float = 0.0, in_dtype: np.dtype = F32,
                 epilogue: bool = False):
        n, h, w, cin = in_shape
        self.dtype = np.dtype(dtype)
        self.pad_value = pad_value
        #: the gemv writes a per-worker accumulator tile handed to an epilogue (quantized forms)
        self.epilogue = epilogue
        self.n, self.h, self.w, self.cin, self.cout = n, h, w, cin, cout
        self.m = cout // cin
        self.kh, self.kw = kh, kw
        self.sh, self.sw = stride
        self.dh, self.dw = dilation
        self.ho, self.wo = out_hw
        self.pt, self.pl = pad_tl
        self.has_bias, self.act = has_bias, act
        self.kt = kh * kw
        self.row = self.wo * cout  # floats in one output row
        self.empty = n == 0 or self.ho == 0 or self.wo == 0 or cout == 0
        # source rows / columns the taps touch
        self.hs = (self.ho - 1) * self.sh + (kh - 1) * self.dh + 1
        self.ws = (self.wo - 1) * self.sw + (kw - 1) * self.dw + 1
        if self.sw == 1:
            direct = (self.pt == 0 and self.pl == 0 and self.m == 1 and self.hs <= h and self.ws <= w
                      and np.dtype(in_dtype) == self.dtype)
            self.mode = "direct" if direct else "padded"
            self.col_step = self.dw * cout
            self.row_len = w * cin if direct else self.ws * cout
        else:
            self.mode = "phased"
            self.col_step = self.row
            self.row_len = kw * self.row
        # row tiles
        if tile_rows is None:
            tile_rows = max(1, round(PRODUCT_BYTES / (self.dtype.itemsize * (self.kt + 1) * max(self.row, 1))))
        # at most about MAX_TILES tiles (each is a few Python objects) whatever the shape
        self.tile = max(1, min(max(tile_rows, -(-n * self.ho // MAX_TILES)), max(self.ho, 1)))
        tiles = [(b, r0, min(self.ho, r0 + self.tile)) for b in range(n) for r0 in range(0, self.ho, self.tile)]
        chunk = (EPILOGUE_ELEMS // max(self.row, 1)) // self.tile * self.tile
        #: output rows of one epilogue chunk (a whole number of tiles, at most one image)
        self.epi_rows = min(max(self.ho, 1), max(self.tile, chunk))
        macs = n * self.ho * self.row * self.kt
        self.workers = max(1, min(num_threads, len(tiles))) if macs >= PARALLEL_MIN_MACS else 1
        # contiguous groups of tiles, balanced by row count
        self.groups: list[list[tuple[int, int, int]]] = [[] for _ in range(self.workers)]
        total = sum(r1 - r0 for _, r0, r1 in tiles)
        acc = 0
        for t in tiles:
            g = min(self.workers - 1, acc * self.workers // max(total, 1))
            self.groups[g].append(t)
            acc += t[2] - t[1]
        self.groups = [g for g in self.groups if g]
        self.workers = len(self.groups)

    # -- scratch ---------------------------------------------------------------------------
    def scratch_shapes(self, filter_const: bool) -> list[tuple[tuple[int, ...], np.dtype]]:
        """Scratch buffers: [source], product buffer per worker, [accumulator tile per worker],
        [weight rows]."""
        if self.empty:
            return []
        dt = self.dtype
        out = []
        if self.mode != "direct":
            out.append(((self.n, self.hs, self.row_len), dt))
        for _ in range(self.workers):
            out.append(((self.kt + 1, self.tile * self.row), dt))
        if self.epilogue:
            for _ in range(self.workers):
                out.append(((self.epi_rows * self.row,), dt))
        if not filter_const:
            out.append(((self.kt, self.row), dt))
        return out

    def weight_rows(self, filt: np.ndarray) -> np.ndarray:
        """Filter [1, KH, KW, Cout] -> per-tap rows tiled along W: [KT, Wo*Cout]."""
        wr = np.empty((self.kt, self.row), self.dtype)
        self.fill_weight_rows(wr, filt)
        return wr

    def fill_weight_rows(self, wr: np.ndarray, filt: np.ndarray) -> None:
        np.copyto(wr.reshape(self.kh, self.kw, self.wo, self.cout), filt[0][:, :, None, :])

    # -- binding ---------------------------------------------------------------------------
    def _copy_plan(self, x: np.ndarray, src: np.ndarray, row_lo: int, row_hi: int) -> list[Step]:
        """Steps writing source rows [row_lo, row_hi) of every batch item (data and zeros)."""
        steps: list[Step] = []
        pairs: list[tuple[np.ndarray, np.ndarray]] = []
        zeros: list[np.ndarray] = []
        h0 = max(row_lo, self.pt)
        h1 = min(row_hi, self.pt + self.h)
        m, cin, cout = self.m, self.cin, self.cout
        for b in range(self.n):
            sb = src[b]
            if row_lo < min(h0, row_hi):
                zeros.append(sb[row_lo:min(h0, row_hi)])
            if max(h1, row_lo) < row_hi:
                zeros.append(sb[max(h1, row_lo):row_hi])
            if h0 >= h1:
                continue
            xb = x[b, h0 - self.pt:h1 - self.pt]
            if self.mode == "padded":
                blocks = [(sb[h0:h1].reshape(h1 - h0, self.ws, cout), 1, 0)]
                nout = self.ws
            else:
                s4 = sb[h0:h1].reshape(h1 - h0, self.kw, self.wo, cout)
                blocks = [(s4[:, k], self.sw, k * self.dw) for k in range(self.kw)]
                nout = self.wo
            for blk, step, off in blocks:
                # output column j reads input column j*step + off - pl
                first = off - self.pl
                j0 = 0 if first >= 0 else (-first + step - 1) // step
                last_ok = self.w - 1 - first  # j*step <= last_ok
                j1 = min(nout, last_ok // step + 1) if last_ok >= 0 else 0
                if j0 >= j1:
                    zeros.append(blk)
                    continue
                if j0 > 0:
                    zeros.append(blk[:, :j0])
                if j1 < nout:
                    zeros.append(blk[:, j1:])
                c0 = j0 * step + first
                sx = xb[:, c0:c0 + (j1 - j0 - 1) * step + 1:step]
                dst = blk[:, j0:j1]
                if m > 1:
                    dst = dst.reshape(h1 - h0, j1 - j0, cin, m)
                    sx = sx[..., None]
                pairs.append((dst, sx))
        for z in zeros:
            steps.append(_fill_step(z, self.pad_value))
        for d, s in pairs:
            steps.append(_copy_step(d, s))
        return steps

    def bind(self, x: np.ndarray, out: np.ndarray, wrows: np.ndarray, bias: np.ndarray | None,
             scratch: list[np.ndarray], pool: Executor | None, pre: Step | None = None,
             epilogue: Callable[[np.ndarray, np.ndarray, int, int], Step] | None = None) -> Step:
        """The invoke step: ``x`` [N,H,W,Cin], ``out`` [N,Ho,Wo,Cout] (C-contiguous).

        With ``epilogue`` (plans made with ``epilogue=True``), the sums of a chunk of tiles go to
        the worker's accumulator ``acc`` [r, Wo*Cout] and ``epilogue(acc, out_rows, batch,
        worker)`` gives the step that turns them into the output rows ``out_rows`` [r, Wo*Cout]
        (run after the chunk's last tile)."""
        if self.empty:
            return lambda: None
        k = 0
        copy_groups: list[list[Step]] = []
        if self.mode == "direct":
            if x.flags.c_contiguous:
                src = x.reshape(self.n, self.h, self.w * self.cin)
            else:  # not expected for arena views; a private contiguous copy made each invoke
                src = np.empty((self.n, self.h, self.w * self.cin), self.dtype)
                copy_groups = [[_copy_step(src.reshape(x.shape), x)]] + [[] for _ in range(self.workers - 1)]
            src_hs = self.h
        else:
            src = scratch[k]
            k += 1
            src_hs = self.hs
            # split the copy by rows, one group per worker
            bounds = np.linspace(0, self.hs, self.workers + 1).round().astype(int)
            copy_groups = [self._copy_plan(x, src, int(bounds[i]), int(bounds[i + 1]))
                           for i in range(self.workers)]
        prods = scratch[k:k + self.workers]
        k += self.workers
        accs = scratch[k:k + self.workers] if self.epilogue else []
        kt, row, tile = self.kt, self.row, self.tile
        wb4 = wrows.reshape(self.kh, self.kw, 1, row)
        ones = np.ones(kt + (1 if bias is not None else 0), self.dtype)
        item = self.dtype.itemsize
        rs = src.strides[1]
        outf = out.reshape(self.n, self.ho, row)
        lo, hi = activation_bounds(self.act)
        flat = out.reshape(-1)
        group_steps: list[Step] = []
        for gi, group in enumerate(self.groups):
            prod = prods[gi]
            tasks = []
            chunk_end = _chunk_ends(group, self.epi_rows) if epilogue is not None else []
            c0 = 0  # first output row of the current chunk
            for ti, (b, r0, r1) in enumerate(group):
                r = r1 - r0
                base = src[b, r0 * self.sh:]
                assert (r - 1) * self.sh + (self.kh - 1) * self.dh < src_hs - r0 * self.sh
                v = as_strided(base, shape=(self.kh, self.kw, r, row),
                               strides=(self.dh * rs, self.col_step * item, self.sh * rs, item), writeable=False)
                p4 = as_strided(prod, shape=(self.kh, self.kw, r, row),
                                strides=(self.kw * prod.strides[0], prod.strides[0], row * item, item))
                psum = prod[:len(ones), :r * row]
                if epilogue is None:
                    tasks.append((v, p4, psum, outf[b, r0:r1].reshape(-1), None))
                    continue
                if ti == 0 or chunk_end[ti - 1]:
                    c0 = r0
                acc = accs[gi][(r0 - c0) * row:(r1 - c0) * row]
                post = None
                if chunk_end[ti]:
                    post = epilogue(accs[gi][:(r1 - c0) * row].reshape(r1 - c0, row), outf[b, c0:r1], b, gi)
                tasks.append((v, p4, psum, acc, post))
            bias_fill: Step | None = None
            if bias is not None:
                brow = prod[kt].reshape(tile * self.wo, self.cout)
                bias_fill = _copy_step(brow, bias)
            # the group's tiles cover one contiguous range of the output: clamp it in one call
            # once (cheaper than per tile: NumPy's clip has a per-call cost of microseconds)
            b0, r00, _ = group[0]
            b1, _, r11 = group[-1]
            span = flat[(b0 * self.ho + r00) * row:(b1 * self.ho + r11) * row]
            clamp = None if lo is None else _clip_step(span, lo, hi)
            group_steps.append(_tile_runner(tasks, wb4, ones, clamp, bias_fill,
                                            copy_groups[gi] if copy_groups else []))

        if self.workers == 1 or pool is None:
            only = group_steps[0]
            if pre is None:
                return only

            def step_pre() -> None:
                pre()
                only()

            return step_pre
        return _parallel(group_steps, copy_groups, pool, pre)


def _chunk_ends(group: list[tuple[int, int, int]], rows: int) -> list[bool]:
    """For each tile of ``group``: does an epilogue chunk end after it?  Chunks are runs of
    consecutive tiles of one image spanning at most ``rows`` output rows."""
    ends = []
    for i, (b, r0, _) in enumerate(group):
        if i == 0 or ends[-1]:
            start = r0
        nxt = group[i + 1] if i + 1 < len(group) else None
        ends.append(nxt is None or nxt[0] != b or nxt[2] - start > rows)
    return ends


def activation_bounds(act: int) -> tuple[float | None, float | None]:
    """Clamp bounds of a float fused activation; TANH / SIGN_BIT clamp nothing in TFLite's
    float depthwise kernel (its activation range for them is the whole float range)."""
    if act == ACT_RELU:
        return 0.0, np.inf  # np.clip with a None bound is ~4x slower than with inf
    if act == ACT_RELU6:
        return 0.0, 6.0
    if act == ACT_RELU_N1_TO_1:
        return -1.0, 1.0
    return None, None


def _clip_step(a: np.ndarray, lo: float, hi: float) -> Step:
    clip = np.clip
    return lambda: clip(a, lo, hi, out=a)


def _fill_step(z: np.ndarray, value: float) -> Step:
    return lambda: z.fill(value)


def _copy_step(dst: np.ndarray, src: np.ndarray) -> Step:
    cp = np.copyto
    return lambda: cp(dst, src)


def _tile_runner(tasks: list, wb4: np.ndarray, ones: np.ndarray, clamp: Step | None,
                 bias_fill: Step | None, copies: list[Step]) -> Step:
    """One worker's tiles: multiply all taps, gemv-sum (bias row included), clamp."""
    mul, mm = np.multiply, np.matmul

    def run(with_copies: bool = True) -> None:
        if with_copies:
            for c in copies:
                c()
        if bias_fill is not None:
            bias_fill()
        for v, p4, psum, o, post in tasks:
            mul(v, wb4, p4)
            mm(ones, psum, o)
            if post is not None:
                post()
        if clamp is not None:
            clamp()

    return run


def _parallel(group_steps: list[Callable[..., None]], copy_groups: list[list[Step]], pool: Executor,
              pre: Step | None) -> Step:
    """Run the source copy (split by rows) then the tile groups on the pool; the calling
    thread takes the first share of each phase."""
    copy_fns = [_run_all(c) for c in copy_groups]
    first, rest = group_steps[0], group_steps[1:]
    submit = pool.submit

    def step() -> None:
        if pre is not None:
            pre()
        if copy_fns:
            futs = [submit(f) for f in copy_fns[1:]]
            copy_fns[0]()
            for f in futs:
                f.result()
        futs = [submit(g, False) for g in rest]
        first(False)
        for f in futs:
            f.result()

    return step


def _run_all(steps: list[Step]) -> Step:
    def run() -> None:
        for s in steps:
            s()

    return run
