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
     ``col_step = Wo*Cout``.  *Phase split* (``split``; when ``PHASE_SPLIT_MIN_TAPS`` says so):
     kernel columns ``k0, k0 + gs, ...`` (``gs = sw / gcd(sw, dw)``) read one block of the
     padded columns ``j'*sw + k0*dw`` at a step of ``dw / gcd`` block columns, so there is one
     block per phase group instead of one per kernel column (dilation 1: the blocks are the
     padded rows de-interleaved, ``[ncols, sw] -> [sw, ncols]``, one copy); each group gets
     its own einsum (the first writes the tile, the others a per-worker partial-sum tile that
     is added), so no tap ever reads a column it does not own (no zero-weight padding taps:
     ``0 * inf`` would turn finite outputs into NaN).  One group (dilation = stride) keeps the
     single einsum and its summation order.

   Copies and border zeroing are precomputed view pairs; the borders are zeroed on every
   invoke because the source lives in the shared arena.
3. Tap sum per row tile of ``R`` output rows: one ``np.einsum("abrn,abn->rn")`` of a strided
   view holding all ``KH*KW`` tap runs ``[KH, KW, R, Wo*Cout]`` with the prepared per-tap weight
   rows ``[KH, KW, Wo*Cout]`` (weights tiled along W once, at prepare time), straight into the
   output tile: einsum's inner loop multiplies and accumulates in one pass over the tile, with
   no product buffer (measured on MobileNet / palm-detection layers, 1 thread: about 7 G
   multiply-adds per second, against about 4 for a multiply pass into a product buffer followed
   by a BLAS gemv summing it, the previous form).  Then the bias row (tiled along W, refreshed
   per invoke) is added and the fused activation clamps the tile while it is in cache.  R is
   picked so a tile's input and output rows fit in ``TILE_BYTES`` (about half of L2).
4. With a thread pool the tiles are split into contiguous groups, one per worker; the source
   copy is split by rows and finished before any tile starts.

5. Quantized forms (``_qdepthwise``) reuse the engine on integer values: the plan's ``dtype``
   (float32 or float64) is the engine's, the source holds the raw integer input cast to it
   (never ``direct``), borders are filled with ``pad_value`` (the input zero point), the bias
   row is the zero-point-corrected bias (or none: the fused epilogue adds it while widening),
   and the einsum writes into a per-worker accumulator.  Consecutive tiles of one image fill it
   up to ``EPILOGUE_ELEMS`` values (a *chunk*), then an ``epilogue`` step (requantization into
   the output rows) consumes it while it is in cache: a chunk larger than a tile amortises
   NumPy's per-call cost over the epilogue's many element-wise passes.  The caller proves at
   prepare time that every partial sum is an exactly representable integer (see
   ``_qdepthwise``), so the order of the sum does not matter there.

Guarantees / limits: float results are a float32 sum of the taps (one rounding per tap, in the
order einsum's iterator takes them) plus the bias: equal to the direct sum up to float32
rounding order (LiteRT's XNNPACK path starts from the bias and fuses multiply-adds, so it
differs by a few ulps).  All views are built in ``bind``; an invoke runs only ufuncs / copies
into them (the pool's futures are the only allocations).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import Executor

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .base import ACT_RELU, ACT_RELU6, ACT_RELU_N1_TO_1, CLIP, Step

F32 = np.dtype(np.float32)
#: at most about this many row tiles per layer (absurd shapes get bigger tiles)
MAX_TILES = 4096
#: target working set of one row tile (bytes: the input rows it reads and the output rows it
#: writes); keeps a tile in L2 while its taps are summed
TILE_BYTES = 512 * 1024
#: below this many multiply-adds per invoke the pool is not used.  Measured on single layers,
#: 14x14x512 (0.9M) and smaller ran slower on two threads than on one; in whole MobileNets at
#: 2 threads, splitting even the largest layers was no faster (v1 9.18 vs 8.87 ms, v2 8.16 vs
#: 7.79 ms with the split): the pool thread competes with OpenBLAS's worker, which keeps
#: spinning after the preceding pointwise convolution.  So whole-model runs leave depthwise
#: layers to one thread unless they are very large.
PARALLEL_MIN_MACS = 20_000_000
#: a stride > 1 layer uses the phase-split source (one copy instead of one per kernel column,
#: one einsum per phase group) when its kernel columns fall into one phase group, or into groups
#: of at least this many columns on average.  Measured (1 thread, per op, split / per-column):
#: 5x5 stride 2 (palm 96x96x32) 0.87 float, 0.90 int8; 3x3 stride 2 (MobileNet v1 / v2 layers)
#: 0.97-1.12 float, 0.98-1.05 int8 - the second einsum and the add cost what the copy saves
PHASE_SPLIT_MIN_TAPS = 2.5
#: quantized forms: tiled weight rows (``DepthwisePlan.constant_weight_rows``) of at least this
#: many bytes are filled at every invoke (a copy of KT * Wo * Cout values, a few % of the layer)
ROWS_PER_INVOKE_BYTES = 65536
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
        #: the einsum writes a per-worker accumulator tile handed to an epilogue (quantized forms)
        self.epilogue = epilogue
        self.n, self.h, self.w, self.cin, self.cout = n, h, w, cin, cout
        self.m = cout // cin
        self.split = False
        self.uniform = False
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
            # phase groups: kernel columns k0, k0 + gs, k0 + 2*gs, ... (gs = stride / gcd(stride,
            # dilation)) read input columns j*sw + k0*dw + t*sw*(dw/g), i.e. one block of columns
            # j'*sw + k0*dw at a uniform step of dw/g block columns
            g = math.gcd(self.sw, self.dw)
            gs = self.sw // g
            self.groups_kw = [(k0, len(range(k0, kw, gs)), gs) for k0 in range(min(gs, kw))]
            self.gstep = self.dw // g
            ng = len(self.groups_kw)
            if ng == kw or (ng > 1 and kw < PHASE_SPLIT_MIN_TAPS * ng):
                # one block per kernel column, each Wo columns: a single einsum (col_step = row)
                self.blocks = [(k * self.row, self.wo, k * self.dw) for k in range(kw)]
                self.split = False
            else:
                # dilation 1: every block gets the longest block's column count, so the blocks
                # together are the padded input rows de-interleaved ([sw, ncols] from [ncols, sw]),
                # written by one copy (the extra columns are never read by a tap)
                self.uniform = self.dw == 1
                longest = self.wo + (max(nt for _, nt, _ in self.groups_kw) - 1) * self.gstep
                self.blocks = []
                off = 0
                for k0, nt, _ in self.groups_kw:
                    ncols = longest if self.uniform else self.wo + (nt - 1) * self.gstep
                    self.blocks.append((off, ncols, k0 * self.dw))
                    off += ncols * cout
                self.split = True
            self.row_len = sum(nc for _, nc, _ in self.blocks) * cout
        # row tiles
        if tile_rows is None:
            # input rows of r output rows: (r-1)*sh + (kh-1)*dh + 1, each row_len values
            per_row = self.sh * self.row_len + self.row * (2 if self.split else 1)
            fixed = ((self.kh - 1) * self.dh + 1 - self.sh) * self.row_len
            tile_rows = max(1, (TILE_BYTES // self.dtype.itemsize - fixed) // max(per_row, 1))
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
        """Scratch buffers: [source], bias row, [accumulator per worker], [weight rows]."""
        if self.empty:
            return []
        dt = self.dtype
        out = []
        if self.mode != "direct":
            out.append(((self.n, self.hs, self.row_len), dt))
        out.append(((self.row,), dt))
        if self.epilogue:
            for _ in range(self.workers):
                out.append(((self.epi_rows * self.row,), dt))
        if self.split:  # per worker: one tile of the phase groups' partial sums
            for _ in range(self.workers):
                out.append(((self.tile * self.row,), dt))
        if not filter_const:
            out.append(((self.kt, self.row), dt))
        return out

    def constant_weight_rows(self, filt: np.ndarray) -> np.ndarray | None:
        """``weight_rows`` of a constant filter, or None where they are at least
        ``ROWS_PER_INVOKE_BYTES``: such rows are filled into scratch at every invoke instead
        (``scratch_shapes(False)``, ``fill_weight_rows``), as the quantized forms do, so a model
        does not keep its filters tiled along W (int8 MobileNet v2 kept 8 MB of them)."""
        if self.empty or self.kt * self.row * self.dtype.itemsize >= ROWS_PER_INVOKE_BYTES:
            return None
        return self.weight_rows(filt)

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
                blocks = [(sb[h0:h1].reshape(h1 - h0, self.ws, cout), 1, 0, self.ws)]
            else:
                blocks = [(sb[h0:h1, o:o + nc * cout].reshape(h1 - h0, nc, cout), self.sw, off, nc)
                          for o, nc, off in self.blocks]
            spans = [_valid_span(step, off - self.pl, self.w, nout) for _, step, off, nout in blocks]
            if self.uniform:
                # the columns valid in every phase in one copy: block p, column j <- padded column
                # j*sw + p, i.e. the input row [J, sw, C] read as [sw, J, C]
                ja, jb = max(a for a, _ in spans), min(b for _, b in spans)
                if ja < jb:
                    sw, nc = self.sw, self.blocks[0][1]
                    c0 = ja * sw - self.pl
                    d5 = sb[h0:h1].reshape(h1 - h0, sw, nc, cin, m)[:, :, ja:jb]
                    sx = xb[:, c0:c0 + (jb - ja) * sw].reshape(h1 - h0, jb - ja, sw, cin, 1).transpose(0, 2, 1, 3, 4)
                    pairs.append((d5 if m > 1 else d5[..., 0], sx if m > 1 else sx[..., 0]))
                    # what is left of each block: its valid columns outside [ja, jb)
                    spans = [[(a, ja), (jb, b)] for a, b in spans]
                else:
                    spans = [[sp] for sp in spans]
            else:
                spans = [[sp] for sp in spans]
            for (blk, step, off, nout), parts in zip(blocks, spans):
                j0, j1 = parts[0][0], parts[-1][1]
                first = off - self.pl
                if j0 >= j1:
                    zeros.append(blk)
                    continue
                if j0 > 0:
                    zeros.append(blk[:, :j0])
                if j1 < nout:
                    zeros.append(blk[:, j1:])
                for a, e in parts:
                    if a >= e:
                        continue
                    c0 = a * step + first
                    sx = xb[:, c0:c0 + (e - a - 1) * step + 1:step]
                    dst = blk[:, a:e]
                    if m > 1:
                        dst = dst.reshape(h1 - h0, e - a, cin, m)
                        sx = sx[..., None]
                    pairs.append((dst, sx))
        for z in zeros:
            steps.append(_fill_step(z, self.pad_value))
        for d, s in pairs:
            steps.append(_copy_step(d, s))
        return steps

    def bind(self, x: np.ndarray, out: np.ndarray, wrows: np.ndarray, bias: np.ndarray | None,
             scratch: list[np.ndarray], pool: Executor | None, pre: Step | None = None,
             epilogue: Callable[[np.ndarray, np.ndarray, int, int], Step] | None = None,
             fused: Callable[[int, int, int], Step | None] | None = None) -> Step:
        """The invoke step: ``x`` [N,H,W,Cin], ``out`` [N,Ho,Wo,Cout] (C-contiguous).

        With ``epilogue`` (plans made with ``epilogue=True``), the sums of a chunk of tiles go to
        the worker's accumulator ``acc`` [r, Wo*Cout] and ``epilogue(acc, out_rows, batch,
        worker)`` gives the step that turns them into the output rows ``out_rows`` [r, Wo*Cout]
        (run after the chunk's last tile).  ``fused`` (float plans): ``Kernel.fused``, the ops the
        executor fused into this node, run on each output tile after its bias and clamp."""
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
        brow = scratch[k]
        k += 1
        accs = scratch[k:k + self.workers] if self.epilogue else []
        k += self.workers if self.epilogue else 0
        tmps = scratch[k:k + self.workers] if self.split else []
        if bias is not None:  # the bias tiled along one output row, refreshed per invoke
            fill = _copy_step(brow.reshape(self.wo, self.cout), bias)
            if copy_groups:
                copy_groups[0].insert(0, fill)
            else:
                copy_groups = [[fill]] + [[] for _ in range(self.workers - 1)]
        row = self.row
        wb3 = wrows.reshape(self.kh, self.kw, row)
        item = self.dtype.itemsize
        rs = src.strides[1]
        outf = out.reshape(self.n, self.ho, row)
        lo, hi = activation_bounds(self.act)
        group_steps: list[Step] = []
        for gi, group in enumerate(self.groups):
            tasks = []
            chunk_end = _chunk_ends(group, self.epi_rows) if epilogue is not None else []
            c0 = 0  # first output row of the current chunk
            for ti, (b, r0, r1) in enumerate(group):
                r = r1 - r0
                base = src[b, r0 * self.sh:]
                assert (r - 1) * self.sh + (self.kh - 1) * self.dh < src_hs - r0 * self.sh
                if self.split:  # one view per phase group, with that group's weight rows
                    v = [(as_strided(base[:, o:], shape=(self.kh, nt, r, row),
                                     strides=(self.dh * rs, self.gstep * self.cout * item, self.sh * rs, item),
                                     writeable=False), wb3[:, k0::gs])
                         for (o, _, _), (k0, nt, gs) in zip(self.blocks, self.groups_kw)]
                else:
                    v = as_strided(base, shape=(self.kh, self.kw, r, row),
                                   strides=(self.dh * rs, self.col_step * item, self.sh * rs, item),
                                   writeable=False)
                if epilogue is None:
                    first = (b * self.ho + r0) * row
                    post = fused(first, first + r * row, gi) if fused is not None else None
                    tasks.append((v, outf[b, r0:r1], post))
                    continue
                if ti == 0 or chunk_end[ti - 1]:
                    c0 = r0
                acc = accs[gi][(r0 - c0) * row:(r1 - c0) * row].reshape(r, row)
                post = None
                if chunk_end[ti]:
                    post = epilogue(accs[gi][:(r1 - c0) * row].reshape(r1 - c0, row), outf[b, c0:r1], b, gi)
                tasks.append((v, acc, post))
            group_steps.append(_tile_runner(tasks, wb3, brow if bias is not None else None, lo, hi,
                                            copy_groups[gi] if copy_groups else [],
                                            tmps[gi] if self.split else None))

        if self.workers == 1 or pool is None:
            only = group_steps[0]
            if pre is None:
                return only

            def step_pre() -> None:
                pre()
                only()

            return step_pre
        return _parallel(group_steps, copy_groups, pool, pre)


def _valid_span(step: int, first: int, w: int, nout: int) -> tuple[int, int]:
    """Block columns [j0, j1) whose input column ``j*step + first`` lies in [0, w)."""
    j0 = 0 if first >= 0 else (-first + step - 1) // step
    last_ok = w - 1 - first  # j*step <= last_ok
    j1 = min(nout, last_ok // step + 1) if last_ok >= 0 else 0
    return min(j0, nout), max(j1, min(j0, nout))


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
    clip = CLIP
    return lambda: clip(a, lo, hi, out=a)


def _fill_step(z: np.ndarray, value: float) -> Step:
    return lambda: z.fill(value)


def _copy_step(dst: np.ndarray, src: np.ndarray) -> Step:
    cp = np.copyto
    return lambda: cp(dst, src)


def _tile_runner(tasks: list, wb3: np.ndarray, brow: np.ndarray | None, lo: float | None, hi: float | None,
                 copies: list[Step], tmp: np.ndarray | None = None) -> Step:
    """One worker's tiles: sum the taps (einsum), add the bias row, clamp.  With ``tmp`` (phase
    split source) a task's view is a list of (view, weight rows) per phase group: the first
    group's einsum writes the tile, each further one writes ``tmp``, which is added to it."""
    ein, add, clip = np.einsum, np.add, CLIP
    if tmp is not None:
        tasks = [(v, o, post, tmp[:o.size].reshape(o.shape)) for v, o, post in tasks]

        def run_split(with_copies: bool = True) -> None:
            if with_copies:
                for c in copies:
                    c()
            for groups, o, post, t in tasks:
                v0, w0 = groups[0]
                ein("abrn,abn->rn", v0, w0, out=o)
                for v, w in groups[1:]:
                    ein("abrn,abn->rn", v, w, out=t)
                    add(o, t, out=o)
                if brow is not None:
                    add(o, brow, out=o)
                if lo is not None:
                    clip(o, lo, hi, out=o)
                if post is not None:
                    post()

        return run_split

    def run(with_copies: bool = True) -> None:
        if with_copies:
            for c in copies:
                c()
        for v, o, post in tasks:
            ein("abrn,abn->rn", v, wb3, out=o)
            if brow is not None:
                add(o, brow, out=o)
            if lo is not None:
                clip(o, lo, hi, out=o)
            if post is not None:
                post()

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
