"""Shared geometry and im2col machinery for CONV_2D (float32 now, quantized forms later).

A convolution is computed as matrix products, following the usual im2col scheme:

1. Geometry (``ConvGeometry``): output size and padding per ``base.conv_padding`` (TFLite's
   rule: SAME puts the odd padding element after), for NHWC input and OHWI filter.
2. Filter: used in place as a transposed view ``[groups, KH*KW*Cin_g, Cout_g]`` on the
   OHWI weights (``filter_to_matmul``; the weights stay zero-copy), or as a C-ordered copy
   where one is made anyway (bias folded in) or where it pays (short GEMMs: OpenBLAS is up to
   25% faster on C-ordered weights with few rows); a filter that is only known at invoke time
   is copied into scratch.
3. Padding: if the convolution reads outside the input, the input is copied into a scratch
   buffer with zero borders (``PadStep``); the borders are zeroed at every invoke because
   the planner shares scratch memory with other tensors between invokes.
4. Patches: ``patch_view`` is a 6-D strided view ``[N, OH, OW, KH, KW, Cin]`` of the
   (padded) input that allocates nothing; a tile of it is copied into a contiguous im2col
   buffer ``[rows, groups, KH, KW, Cin_g]`` whose per-group 2-D slice is the left matmul
   operand.  A 1x1 stride-1 convolution needs no copy at all: the input itself, viewed as
   ``[N*H*W, Cin]``, is the operand.
5. Tiles (``plan_tiles``): output rows are processed in tiles whose im2col buffer stays
   around ``target_bytes`` so the copy, the matmul that reads it and the bias / activation
   on the result rows all run in cache.  A tile is either a run of whole images or a run of
   output rows of one image, so every tile is a plain slice of the views above.

Limits: rank-4 NHWC only; the im2col copy costs one write of ``KH*KW`` times the (strided)
input per invoke, which is what makes large-kernel, small-channel layers copy-bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .base import conv_padding
from .quant import round_half_away, round_half_away_

#: im2col tile size aimed at (bytes); measured best at 1-2 MB (L2 1 MB per core).
TILE_BYTES = 1024 * 1024
#: at most about this many tiles per convolution (each is a few Python objects): absurd shapes
#: get bigger tiles instead (real layers have far fewer output rows)
MAX_TILES = 4096


@dataclass(frozen=True)
class ConvGeometry:
    n: int
    h: int
    w: int
    cin: int
    kh: int
    kw: int
    sh: int
    sw: int
    dh: int
    dw: int
    oh: int
    ow: int
    pt: int
    pb: int
    pl: int
    pr: int

    @classmethod
    def make(cls, input_shape: tuple[int, ...], kh: int, kw: int, strides: tuple[int, int],
             dilations: tuple[int, int], padding: int) -> ConvGeometry:
        n, h, w, cin = input_shape
        sh, sw = strides
        dh, dw = dilations
        oh, pt, pb = conv_padding(h, kh, sh, dh, padding)
        ow, pl, pr = conv_padding(w, kw, sw, dw, padding)
        return cls(n, h, w, cin, kh, kw, sh, sw, dh, dw, oh, ow, pt, pb, pl, pr)

    @property
    def padded(self) -> bool:
        return bool(self.pt or self.pb or self.pl or self.pr)

    @property
    def pointwise(self) -> bool:
        """1x1 stride 1: the input is the im2col matrix as it stands."""
        return self.kh == 1 and self.kw == 1 and self.sh == 1 and self.sw == 1 and not self.padded

    @property
    def padded_shape(self) -> tuple[int, int, int, int]:
        return (self.n, self.h + self.pt + self.pb, self.w + self.pl + self.pr, self.cin)

    @property
    def empty(self) -> bool:
        return self.n * self.oh * self.ow == 0


def filter_to_matmul(filt: np.ndarray, groups: int, bias: np.ndarray | None = None,
                     contiguous: bool = False) -> np.ndarray:
    """OHWI filter ``[Cout, KH, KW, Cin_g]`` -> ``[groups, KH*KW*Cin_g (+1), Cout/groups]`` operand.

    Without ``bias`` or ``contiguous`` no weight is copied: the result is a transposed
    (Fortran-ordered per group) view on the filter, so a model's weights stay zero-copy views on
    the file.  With ``bias`` the bias is appended as one more row of the operand (matched by a
    column of ones in the im2col matrix); that needs a copy anyway, and it is made C-ordered
    (``[K + 1, Cout_g]`` rows), which OpenBLAS multiplies faster: measured at 1 thread, 49 x 960
    @ 960 x 160 took 168 us against 223 us with the transposed view, 196 x 96 @ 96 x 576 211
    against 232 us, and from about 1000 rows on the two are within 2%.  ``contiguous`` asks
    for that C-ordered copy without a bias (``Conv2D`` does so for short GEMMs only)."""
    cout = filt.shape[0]
    k = int(np.prod(filt.shape[1:]))
    cg = cout // groups
    w = np.asarray(filt, dtype=np.float32).reshape(groups, cg, k).transpose(0, 2, 1)
    if bias is None:
        return np.ascontiguousarray(w) if contiguous else w
    wb = np.empty((groups, k + 1, cg), np.float32)
    wb[:, :k] = w
    wb[:, k] = np.asarray(bias, np.float32).reshape(groups, cg)
    return wb


def filter_relayout_step(filt: np.ndarray, dst: np.ndarray, groups: int) -> Callable[[], None]:
    """A step re-laying a filter known only at invoke time into ``dst`` (layout as above)."""
    cout = filt.shape[0]
    src = filt.reshape(groups, cout // groups, dst.shape[1]).transpose(0, 2, 1)
    return lambda: np.copyto(dst, src)


class PadStep:
    """Copies ``x`` into the interior of ``xp`` and fills the borders with ``value`` (zero, or a
    quantized input's zero point) at every invoke.  ``x=None``: borders only (the caller writes
    the interior itself, as the hybrid input quantizer does)."""

    def __init__(self, x: np.ndarray | None, xp: np.ndarray, g: ConvGeometry, value: float = 0.0):
        h, w = g.h, g.w
        self.interior = xp[:, g.pt:g.pt + h, g.pl:g.pl + w, :]
        self.x = x
        borders = []
        if g.pt:
            borders.append(xp[:, :g.pt])
        if g.pb:
            borders.append(xp[:, g.pt + h:])
        if g.pl:
            borders.append(xp[:, g.pt:g.pt + h, :g.pl])
        if g.pr:
            borders.append(xp[:, g.pt:g.pt + h, g.pl + w:])
        self.borders = [b for b in borders if b.size]
        self.value = value

    def __call__(self) -> None:
        for b in self.borders:
            b.fill(self.value)
        if self.x is not None:
            np.copyto(self.interior, self.x)


def patch_view(src: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """``[N, OH, OW, KH, KW, Cin]`` strided view of the (padded) input ``src`` (no copy)."""
    sn, sy, sx, sc = src.strides
    return np.lib.stride_tricks.as_strided(
        src, shape=(g.n, g.oh, g.ow, g.kh, g.kw, g.cin),
        strides=(sn, g.sh * sy, g.sw * sx, g.dh * sy, g.dw * sx, sc), writeable=False)


def plan_tiles(g: ConvGeometry, row_bytes: int, target_bytes: int | None = None) -> list[tuple[int, int, int, int]]:
    """Tiles ``(n0, n1, y0, y1)`` (images ``n0:n1``, output rows ``y0:y1``) covering the output
    in order: runs of whole images, or, for big images, runs of rows of one image.
    ``row_bytes`` is the im2col size of one output pixel; ``target_bytes`` defaults to
    the module's ``TILE_BYTES`` (read at call time, so tests can shrink it)."""
    if target_bytes is None:
        target_bytes = TILE_BYTES
    image_rows = g.oh * g.ow
    target_rows = max(1, target_bytes // max(row_bytes, 1))
    if image_rows <= target_rows:
        per = max(1, target_rows // max(image_rows, 1), -(-g.n // MAX_TILES))
        return [(n0, min(n0 + per, g.n), 0, g.oh) for n0 in range(0, g.n, per)]
    th = max(1, target_rows // max(g.ow, 1), -(-g.n * g.oh // MAX_TILES))  # bounded Python work
    count = -(-g.oh // th)
    th = -(-g.oh // count)  # even out the tiles so the last one is not a sliver
    return [(n, n + 1, y0, min(y0 + th, g.oh)) for n in range(g.n) for y0 in range(0, g.oh, th)]


def tile_rows(g: ConvGeometry, tile: tuple[int, int, int, int]) -> tuple[int, int]:
    """First and one-past-last row of a tile in the output viewed as ``[N*OH*OW, Cout]``."""
    n0, n1, y0, y1 = tile
    image = g.oh * g.ow
    return n0 * image + y0 * g.ow, (n1 - 1) * image + y1 * g.ow


# --- hybrid input quantization ---------------------------------------------------------------
def quantize_image_(x: np.ndarray, dst: np.ndarray, tmp: np.ndarray, asymmetric: bool) -> tuple[float, int]:
    """TFLite's on-the-fly input quantization of hybrid kernels, for one batch row ``x`` (float32)
    into ``dst`` (float32, integer values ``q - zero_point``, so that padding is 0).  Returns the
    float32 scaling factor and the zero point (offset).

    Symmetric (``SymmetricQuantizeFloats``): ``range = max(|min|, |max|)``, ``sf = range / 127``,
    ``q = round(x * (127 / range))`` clamped to +-127, all float32.  Asymmetric
    (``AsymmetricQuantizeFloats``): min / max widened to include 0, ``scale = (max - min) / 255``
    and a zero point from the side with the smaller error, nudged into [-128, 127] (C ``round``),
    all in float32 (the LiteRT wheel does this in float32 although current LiteRT sources use
    double: double scales differ by one ulp on some inputs and were measured not to match);
    ``q = round(zp + x * (1 / scale))`` clamped to [-128, 127].  A constant-zero
    row gives ``q = 0``, ``sf = 1``, zero point 0."""
    mn, mx = x.min(), x.max()
    if not asymmetric:
        rng = max(abs(mn), abs(mx))
        if rng == 0:
            dst.fill(0.0)
            return 1.0, 0
        sf = np.float32(rng / np.float32(127))
        np.multiply(x, np.float32(127) / rng, out=dst)
        round_half_away_(dst, tmp)
        np.clip(dst, np.float32(-127), np.float32(127), out=dst)
        return float(sf), 0
    f32 = np.float32
    rmin, rmax = min(f32(0), mn), max(f32(0), mx)
    if rmin == rmax:
        dst.fill(0.0)
        return 1.0, 0
    # measured on the ai_edge_litert wheel: the scale and zero point are computed in float32
    scale = f32(f32(rmax - rmin) / f32(255))
    zmin, zmax = f32(f32(-128) - rmin / scale), f32(f32(127) - rmax / scale)
    emin, emax = f32(128) + abs(rmin / scale), f32(127) + abs(rmax / scale)
    zd = float(zmin if emin < emax else zmax)
    zp = -128 if zd <= -128.0 else 127 if zd >= 127.0 else int(round_half_away(zd))
    sf = np.float32(scale)
    np.multiply(x, np.float32(1) / sf, out=dst)
    np.add(dst, np.float32(zp), out=dst)
    round_half_away_(dst, tmp)
    np.clip(dst, np.float32(-128), np.float32(127), out=dst)
    np.subtract(dst, np.float32(zp), out=dst)
    return float(sf), zp
