"""The audio custom ops LiteRT's default resolver registers: AudioSpectrogram and Mfcc
(``tflite/kernels/audio_spectrogram.cc``, ``mfcc.cc`` and ``internal/spectrogram.cc``,
``mfcc*.cc``), as TensorFlow's speech-commands models use them.

Enable them for every ``Interpreter`` with ``numlite.custom.audio.register()``, or for one with
``Interpreter(..., custom_ops=numlite.custom.audio.OPS)``.

AudioSpectrogram (options ``window_size``, ``stride``, ``magnitude_squared``):

1. Input float32 ``[samples, channels]``; output float32 ``[channels, frames, 1 + fft / 2]``
   with ``frames = 1 + (samples - window_size) // stride`` (0 when the input is shorter than a
   window) and ``fft`` the smallest power of two ``>= window_size``.
2. Frame ``t`` of a channel is ``x[t * stride : t * stride + window_size]``, multiplied (in
   double) by the periodic Hann window ``0.5 - 0.5 * cos(2 pi i / window_size)``, zero-padded to
   ``fft`` and transformed by a real FFT in double; the output is ``re^2 + im^2`` rounded to
   float32, or its float32 square root unless ``magnitude_squared``.
3. LiteRT uses Ooura's FFT, numlite NumPy's pocketfft: both double precision, so results agree
   to float32 rounding except in bins many orders of magnitude below the frame's peak (the
   test allows 1e-5 relative to each frame's largest value).
4. ``window_size`` must be 2 .. 2^30 and ``stride`` at least 1 (LiteRT fails prepare the same
   way below those; above 2^30 its FFT length overflows int32).

Mfcc (inputs: spectrogram float32 ``[channels, frames, bins]`` and sample_rate int32 (one
element); options ``upper_frequency_limit``, ``lower_frequency_limit``,
``filterbank_channel_count``, ``dct_coefficient_count``):

5. Output float32 ``[channels, frames, dct_coefficient_count]``.  The frequency limits are read
   as integers (LiteRT's ``AsInt64``: 7999.9 is 7999).
6. Mel filterbank, in double, as LiteRT's MfccMelFilterbank: ``mel(f) = 1127 ln(1 + f / 700)``;
   ``filterbank_channel_count + 1`` centres spaced evenly in mel above ``mel(lower)``; bin
   ``i`` has frequency ``i * rate / (2 (bins - 1))``; bins from ``int(1.5 + lower / hz_per_bin)``
   to ``int(upper / hz_per_bin)`` add ``sqrt(power) * w`` to the channel whose centre is
   below them and ``sqrt(power) * (1 - w)`` to the next, ``w`` falling linearly between centres.
7. ``log(max(v, 1e-12))`` per channel, then the DCT-II ``sqrt(2 / n) * cos(pi k (j + 0.5) / n)``
   (no other normalisation), the first ``dct_coefficient_count`` coefficients, rounded to
   float32.  When the upper limit lies beyond the last bin (LiteRT's "input too short") every
   coefficient is 0, as in LiteRT.
8. Errors: counts must be positive, ``dct_coefficient_count <= filterbank_channel_count``,
   ``0 <= lower < upper``, ``bins >= 2`` and ``sample_rate > 0`` (checked at prepare when the
   rate is a constant, else at invoke, where LiteRT checks it).  numlite refuses filterbanks
   above ``MAX_FILTERBANK_CHANNELS`` (2^20) and DCT tables above ``MAX_DCT_TABLE`` (2^24 values)
   instead of allocating them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..ops.base import Kernel, PrepareContext, Step
from ..ops.registry import register_op

__all__ = ["AudioSpectrogram", "Mfcc", "OPS", "register", "hann_window", "spectrogram", "MfccTables"]

MAX_WINDOW = 1 << 30
MAX_FILTERBANK_CHANNELS = 1 << 20
MAX_DCT_TABLE = 1 << 24
FILTERBANK_FLOOR = 1e-12


def _option_int(ctx: PrepareContext, opts: dict[str, Any], key: str) -> int:
    """An option read as FlexBuffers' ``AsInt64`` reads it: missing is 0, a float truncates."""
    value = opts.get(key)
    if value is None:
        return 0
    if isinstance(value, (bool, int)):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            ctx.fail(f"custom option {key!r} is {value}; it must be a finite number")
        return int(value)
    ctx.fail(f"custom option {key!r} must be a number, got {type(value).__name__} {value!r}")


def hann_window(length: int) -> np.ndarray:
    """The periodic Hann window (float64), as LiteRT's spectrogram builds it."""
    i = np.arange(length, dtype=np.float64)
    return 0.5 - 0.5 * np.cos((2.0 * math.pi * i) / length)


def fft_length(window_size: int) -> int:
    return 1 << max(int(window_size) - 1, 0).bit_length()


def spectrogram(x: np.ndarray, window_size: int, stride: int, magnitude_squared: bool) -> np.ndarray:
    """AudioSpectrogram on ``x`` float32 ``[samples, channels]`` (module docstring, points 1-3)."""
    x = np.asarray(x, np.float32)
    samples, channels = x.shape
    n_fft = fft_length(window_size)
    frames = 0 if samples < window_size else 1 + (samples - window_size) // stride
    out = np.zeros((channels, frames, n_fft // 2 + 1), np.float32)
    if frames and channels:
        _spectrogram_into(x, window_size, stride, magnitude_squared, hann_window(window_size), out)
    return out


def _spectrogram_into(x: np.ndarray, window_size: int, stride: int, magnitude_squared: bool,
                      window: np.ndarray, out: np.ndarray) -> None:
    frames = out.shape[1]
    n_fft = fft_length(window_size)
    series = np.ascontiguousarray(x.T)  # [channels, samples]
    view = np.lib.stride_tricks.sliding_window_view(series, window_size, axis=1)[:, ::stride][:, :frames]
    spec = np.fft.rfft(view * window, n=n_fft, axis=-1)
    power = spec.real * spec.real + spec.imag * spec.imag
    np.copyto(out, power, casting="unsafe")
    if not magnitude_squared:
        np.sqrt(out, out=out)


class AudioSpectrogram(Kernel):
    """AudioSpectrogram (see the module docstring)."""

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        opts = ctx.custom_options()
        self.window_size = _option_int(ctx, opts, "window_size")
        self.stride = _option_int(ctx, opts, "stride")
        self.magnitude_squared = bool(opts.get("magnitude_squared") or False)
        if not 2 <= self.window_size <= MAX_WINDOW:
            ctx.fail(f"custom option 'window_size' is {self.window_size}; it must be in [2, {MAX_WINDOW}]")
        if self.stride < 1:
            ctx.fail(f"custom option 'stride' is {self.stride}; it must be at least 1")
        x = ctx.input(0)
        ctx.expect_dtype(x, [np.float32])
        ctx.expect_rank(x, 2)
        out = ctx.outputs[0]
        if out.dtype is not None and np.dtype(out.dtype) != np.float32:
            ctx.fail(f"output {out.describe()} must be float32")
        samples, channels = x.shape
        frames = 0 if samples < self.window_size else 1 + (samples - self.window_size) // self.stride
        ctx.set_output(0, (channels, frames, fft_length(self.window_size) // 2 + 1), np.float32)
        self.window = hann_window(self.window_size) if frames and channels else None

    def bind(self, inputs: list[Any], outputs: list[Any], scratch: list[np.ndarray]) -> Step:
        x, out = inputs[0], outputs[0]
        if self.window is None:
            return lambda: None
        ws, st, sq, window = self.window_size, self.stride, self.magnitude_squared, self.window

        def step() -> None:
            _spectrogram_into(x, ws, st, sq, window, out)

        return step


def _mel(freq: np.ndarray | float) -> np.ndarray | float:
    return 1127.0 * np.log1p(np.asarray(freq, np.float64) / 700.0)


class MfccTables:
    """The filterbank and DCT of one (bins, sample rate, options) setting (docstring 6-7)."""

    def __init__(self, bins: int, rate: float, lower: float, upper: float, channels: int, coefficients: int):
        hz_per_bin = 0.5 * rate / float(bins - 1)
        self.start = int(1.5 + lower / hz_per_bin)
        self.end = int(upper / hz_per_bin)
        self.usable = self.end < bins  # else LiteRT's "input too short": all zeros
        self.coefficients = coefficients
        self.channels = channels
        if not self.usable:
            return
        mel_low = float(_mel(lower))
        spacing = (float(_mel(upper)) - mel_low) / float(channels + 1)
        centres = mel_low + spacing * np.arange(1, channels + 2, dtype=np.float64)
        idx = np.arange(self.start, self.end + 1)
        melf = _mel(idx * hz_per_bin)
        # band: the last centre (among the first `channels`) strictly below the bin's mel, or -1
        band = np.searchsorted(centres[:channels], melf, side="left") - 1
        below = np.where(band >= 0, centres[np.maximum(band, 0)], mel_low)
        above = centres[band + 1]
        self.idx = idx
        self.band = band
        self.weights = (above - melf) / (above - below)
        arg = math.pi / channels
        k = np.arange(coefficients, dtype=np.float64)[:, None]
        j = np.arange(channels, dtype=np.float64)[None, :]
        self.dct = math.sqrt(2.0 / channels) * np.cos(k * arg * (j + 0.5))  # [coefficients, channels]

    def apply(self, frames: np.ndarray, out: np.ndarray) -> None:
        """``frames`` float32 ``[..., bins]`` -> ``out`` float32 ``[..., coefficients]``."""
        if not self.usable:
            out[...] = 0.0
            return
        flat = frames.reshape(-1, frames.shape[-1])
        with np.errstate(all="ignore"):
            spec = np.sqrt(flat[:, self.idx].astype(np.float64))
        weighted = spec * self.weights
        # column c + 1 is channel c; each channel sums its rising side's bins, then its falling side's, in
        # frequency order - LiteRT's order of additions
        mel = np.zeros((flat.shape[0], self.channels + 2), np.float64)
        np.add.at(mel.T, self.band + 2, (spec - weighted).T)
        np.add.at(mel.T, self.band + 1, weighted.T)
        mel = mel[:, 1:self.channels + 1]
        with np.errstate(all="ignore"):
            logs = np.log(np.where(mel < FILTERBANK_FLOOR, FILTERBANK_FLOOR, mel))
        np.copyto(out.reshape(-1, self.coefficients), logs @ self.dct.T, casting="unsafe")


class Mfcc(Kernel):
    """Mfcc (see the module docstring)."""

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        opts = ctx.custom_options()
        self.upper = float(_option_int(ctx, opts, "upper_frequency_limit"))
        self.lower = float(_option_int(ctx, opts, "lower_frequency_limit"))
        self.channels = _option_int(ctx, opts, "filterbank_channel_count")
        self.coefficients = _option_int(ctx, opts, "dct_coefficient_count")
        if not 0 < self.channels <= MAX_FILTERBANK_CHANNELS:
            ctx.fail(f"custom option 'filterbank_channel_count' is {self.channels}; it must be in "
                     f"[1, {MAX_FILTERBANK_CHANNELS}]")
        if not 0 < self.coefficients <= self.channels:
            ctx.fail(f"custom option 'dct_coefficient_count' is {self.coefficients}; it must be in "
                     f"[1, filterbank_channel_count = {self.channels}]")
        if self.coefficients * self.channels > MAX_DCT_TABLE:
            ctx.fail(f"dct_coefficient_count * filterbank_channel_count = {self.coefficients * self.channels} "
                     f"exceeds numlite's limit of {MAX_DCT_TABLE}")
        if self.lower < 0:
            ctx.fail(f"custom option 'lower_frequency_limit' is {self.lower:g}; it must not be negative")
        if self.upper <= self.lower:
            ctx.fail(f"custom option 'upper_frequency_limit' ({self.upper:g}) must be above "
                     f"'lower_frequency_limit' ({self.lower:g})")
        spec, rate = ctx.input(0), ctx.input(1)
        ctx.expect_dtype(spec, [np.float32], "spectrogram")
        ctx.expect_rank(spec, 3, "spectrogram")
        if min(spec.shape) <= 0:
            ctx.fail(f"spectrogram {spec.describe()} must not be empty")
        if spec.shape[2] < 2:
            ctx.fail(f"spectrogram {spec.describe()} needs at least 2 frequency bins")
        ctx.expect_dtype(rate, [np.int32], "sample_rate")
        if rate.size != 1:
            ctx.fail(f"sample_rate {rate.describe()} must hold exactly one value")
        out = ctx.outputs[0]
        if out.dtype is not None and np.dtype(out.dtype) != np.float32:
            ctx.fail(f"output {out.describe()} must be float32")
        ctx.set_output(0, (spec.shape[0], spec.shape[1], self.coefficients), np.float32)
        self.bins = spec.shape[2]
        self.where = f"{self.op_name} (node {self.node.index})"
        self.tables: MfccTables | None = None
        if rate.value is not None:
            r = int(np.asarray(rate.value).reshape(-1)[0])
            if r <= 0:
                ctx.fail(f"sample_rate is {r}; it must be positive")
            self.tables = self._tables(r)

    def _tables(self, rate: int) -> MfccTables:
        return MfccTables(self.bins, float(rate), self.lower, self.upper, self.channels, self.coefficients)

    def bind(self, inputs: list[Any], outputs: list[Any], scratch: list[np.ndarray]) -> Step:
        spec, rate, out = inputs[0], inputs[1], outputs[0]
        fixed = self.tables
        cache: dict[int, MfccTables] = {}
        where, make = self.where, self._tables

        def step() -> None:
            tables = fixed
            if tables is None:
                r = int(rate.reshape(-1)[0])
                if r <= 0:
                    raise RuntimeError(f"{where}: sample_rate is {r}; it must be positive")
                tables = cache.get(r)
                if tables is None:
                    cache.clear()
                    tables = cache[r] = make(r)
            tables.apply(spec, out)

        return step


OPS: dict[str, type[Kernel]] = {"AudioSpectrogram": AudioSpectrogram, "Mfcc": Mfcc}


def register() -> None:
    """Register AudioSpectrogram and Mfcc for every ``Interpreter`` (idempotent)."""
    for name, cls in OPS.items():
        register_op(name, cls)
