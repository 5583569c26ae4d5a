"""AudioSpectrogram and Mfcc (numlite.custom.audio) against LiteRT.

Tolerances: both runtimes compute in double and round to float32.  The FFTs differ (Ooura in
LiteRT, pocketfft in NumPy) by a few double ulps of the frame's largest term, so a spectrogram
value may differ by float32 rounding relative to its frame's peak: compared with an absolute
tolerance of 1e-5 times the frame's peak (plus rtol 1e-6).  Mfcc sums its filterbank in LiteRT's
order but takes the DCT with a matrix product: double-ulp differences, so rtol 1e-6 and atol
1e-6 times the largest coefficient.
"""

from __future__ import annotations

import numpy as np
import pytest
from util import run_litert, run_numlite

import numlite
from numlite.builder import ModelBuilder
from numlite.custom import audio
from numlite.flex import encode
from numlite.ops import registry


@pytest.fixture(scope="module", autouse=True)
def _custom_ops():
    custom = dict(registry._CUSTOM)
    audio.register()
    yield
    registry._CUSTOM.clear()
    registry._CUSTOM.update(custom)


def spec_model(shape, opts):
    mb = ModelBuilder()
    x = mb.input("audio", shape, np.float32)
    y = mb.tensor("spectrogram", (), np.float32)
    mb.op("custom:AudioSpectrogram", [x], [y], custom_options=encode(opts))
    mb.output(y)
    return mb.build()


def mfcc_model(shape, rate, opts, rate_input=False):
    mb = ModelBuilder()
    x = mb.input("spectrogram", shape, np.float32)
    r = mb.input("rate", (1,), np.int32) if rate_input else mb.const("rate", np.array([rate], np.int32))
    y = mb.tensor("mfcc", (), np.float32)
    mb.op("custom:Mfcc", [x, r], [y], custom_options=encode(opts))
    mb.output(y)
    return mb.build()


def close_spectrogram(a, b):
    assert a.shape == b.shape and a.dtype == b.dtype == np.float32
    if a.size:
        peak = np.abs(b).max(axis=-1, keepdims=True)
        assert np.all(np.abs(a - b) <= 1e-6 * np.abs(b) + 1e-5 * peak)


def close_mfcc(a, b):
    assert a.shape == b.shape and a.dtype == b.dtype == np.float32
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6 * max(float(np.abs(b).max()), 1e-30))


SPECS = [  # samples, channels, window, stride, magnitude_squared
    (1000, 1, 256, 128, True),
    (1000, 2, 300, 100, False),  # window not a power of two: zero-padded to 512
    (16000, 1, 480, 160, True),  # speech-commands settings
    (700, 3, 64, 100, False),  # stride longer than the window
    (64, 1, 64, 64, True),  # exactly one frame
    (50, 1, 64, 64, True),  # shorter than a window: no frames
    (9, 1, 2, 1, False),  # the smallest window
]


@pytest.mark.parametrize("case", SPECS)
def test_spectrogram(case):
    n, c, w, s, sq = case
    x = np.random.default_rng(n + w).normal(size=(n, c)).astype(np.float32)
    m = spec_model((n, c), dict(window_size=w, stride=s, magnitude_squared=sq))
    close_spectrogram(run_numlite(m, [x])[0], run_litert(m, [x])[0])


def test_spectrogram_pure_tone_peak():
    rate, f = 8000, 1000
    x = np.sin(2 * np.pi * f * np.arange(2048) / rate).astype(np.float32)[:, None]
    m = spec_model((2048, 1), dict(window_size=256, stride=128, magnitude_squared=False))
    ours, theirs = run_numlite(m, [x])[0], run_litert(m, [x])[0]
    close_spectrogram(ours, theirs)
    assert (ours[0].argmax(axis=-1) == f * 256 // rate).all()


MFCCS = [  # channels, frames, bins, rate, options
    (1, 5, 257, 16000, dict(upper_frequency_limit=4000, lower_frequency_limit=20, filterbank_channel_count=40,
                             dct_coefficient_count=13)),
    (2, 3, 129, 8000, dict(upper_frequency_limit=3999.9, lower_frequency_limit=0, filterbank_channel_count=20,
                           dct_coefficient_count=20)),  # float limit read as an integer; dct == channels
    (1, 2, 65, 16000, dict(upper_frequency_limit=9000, lower_frequency_limit=20, filterbank_channel_count=10,
                           dct_coefficient_count=5)),  # upper limit past Nyquist: LiteRT gives zeros
    (1, 4, 33, 16000, dict(upper_frequency_limit=7000, lower_frequency_limit=300, filterbank_channel_count=40,
                           dct_coefficient_count=13)),  # more channels than bins: empty bands
]


@pytest.mark.parametrize("case", MFCCS)
def test_mfcc(case):
    ch, fr, bins, rate, opts = case
    x = (np.random.default_rng(bins).random((ch, fr, bins)) ** 3 * 100).astype(np.float32)
    x[0, 0, :5] = 0.0  # below the log floor
    m = mfcc_model((ch, fr, bins), rate, opts)
    close_mfcc(run_numlite(m, [x])[0], run_litert(m, [x])[0])


def test_mfcc_rate_as_input():
    opts = dict(upper_frequency_limit=4000, lower_frequency_limit=20, filterbank_channel_count=40,
                dct_coefficient_count=13)
    m = mfcc_model((1, 3, 257), 0, opts, rate_input=True)
    x = np.random.default_rng(0).random((1, 3, 257)).astype(np.float32)
    for rate in (16000, 8000, 16000):
        feeds = [x, np.array([rate], np.int32)]
        close_mfcc(run_numlite(m, feeds)[0], run_litert(m, feeds)[0])
    with pytest.raises(RuntimeError, match=r"Mfcc \(node 0\).*sample_rate is 0"):
        run_numlite(m, [x, np.array([0], np.int32)])


def test_speech_frontend_end_to_end():
    """AudioSpectrogram -> Mfcc, as TensorFlow's speech-commands model starts."""
    mb = ModelBuilder()
    wav = mb.input("wav", (16000, 1), np.float32)
    spec = mb.tensor("spec", (1, 98, 257), np.float32)
    mb.op("custom:AudioSpectrogram", [wav], [spec],
          custom_options=encode(dict(window_size=480, stride=160, magnitude_squared=True)))
    feats = mb.tensor("mfcc", (1, 98, 40), np.float32)
    mb.op("custom:Mfcc", [spec, mb.const("rate", np.array([16000], np.int32))], [feats],
          custom_options=encode(dict(upper_frequency_limit=7600, lower_frequency_limit=20,
                                     filterbank_channel_count=40, dct_coefficient_count=40)))
    mb.output(feats)
    model = mb.build()
    x = (0.3 * np.random.default_rng(5).standard_normal((16000, 1))).astype(np.float32)
    ours, theirs = run_numlite(model, [x])[0], run_litert(model, [x])[0]
    assert ours.shape == (1, 98, 40)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5 * float(np.abs(theirs).max()))


def test_per_interpreter_ops():
    m = spec_model((100, 1), dict(window_size=32, stride=16, magnitude_squared=True))
    it = numlite.Interpreter(model_content=m, custom_ops=audio.OPS)
    it.allocate_tensors()
    assert tuple(it.get_output_details()[0]["shape"]) == (1, 5, 17)


SPEC_HOSTILE = [
    (dict(window_size=1, stride=1), r"'window_size' is 1"),
    (dict(window_size=2**31, stride=1), r"'window_size' is 2147483648"),
    (dict(window_size=16, stride=0), r"'stride' is 0"),
    (dict(stride=4), r"'window_size' is 0"),
    (dict(window_size="big", stride=4), r"'window_size' must be a number"),
]


@pytest.mark.parametrize("k", range(len(SPEC_HOSTILE)))
def test_spectrogram_hostile(k):
    opts, msg = SPEC_HOSTILE[k]
    with pytest.raises(Exception, match=rf"AudioSpectrogram \(node 0\).*{msg}"):
        run_numlite(spec_model((100, 1), opts), [np.zeros((100, 1), np.float32)])


BASE_MFCC = dict(upper_frequency_limit=4000, lower_frequency_limit=20, filterbank_channel_count=40,
                 dct_coefficient_count=13)
MFCC_HOSTILE = [
    (dict(dct_coefficient_count=41), r"'dct_coefficient_count' is 41"),
    (dict(filterbank_channel_count=0), r"'filterbank_channel_count' is 0"),
    (dict(filterbank_channel_count=2**40, dct_coefficient_count=1), r"'filterbank_channel_count' is \d+"),
    (dict(filterbank_channel_count=2**20, dct_coefficient_count=2**10), r"exceeds numlite's limit"),
    (dict(upper_frequency_limit=20), r"'upper_frequency_limit' \(20\) must be above"),
    (dict(lower_frequency_limit=-5), r"'lower_frequency_limit' is -5"),
    (dict(upper_frequency_limit=float("inf")), r"'upper_frequency_limit' is inf"),
]


@pytest.mark.parametrize("k", range(len(MFCC_HOSTILE)))
def test_mfcc_hostile_options(k):
    change, msg = MFCC_HOSTILE[k]
    with pytest.raises(Exception, match=rf"Mfcc \(node 0\).*{msg}"):
        run_numlite(mfcc_model((1, 2, 65), 16000, {**BASE_MFCC, **change}), [np.zeros((1, 2, 65), np.float32)])


def test_mfcc_hostile_tensors():
    with pytest.raises(Exception, match=r"Mfcc \(node 0\).*sample_rate is -8000"):
        run_numlite(mfcc_model((1, 2, 65), -8000, BASE_MFCC), [np.zeros((1, 2, 65), np.float32)])
    with pytest.raises(Exception, match=r"Mfcc \(node 0\).*at least 2 frequency bins"):
        run_numlite(mfcc_model((1, 2, 1), 16000, BASE_MFCC), [np.zeros((1, 2, 1), np.float32)])
    with pytest.raises(Exception, match=r"Mfcc \(node 0\).*must not be empty"):
        run_numlite(mfcc_model((1, 0, 65), 16000, BASE_MFCC), [np.zeros((1, 0, 65), np.float32)])


def test_mfcc_nan_input_propagates_like_litert():
    x = np.random.default_rng(1).random((1, 2, 129)).astype(np.float32)
    x[0, 0, 10] = np.nan
    x[0, 1, 20] = -1.0  # sqrt of a negative power: NaN in its bands
    m = mfcc_model((1, 2, 129), 8000, BASE_MFCC)
    ours, theirs = run_numlite(m, [x])[0], run_litert(m, [x])[0]
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    ok = ~np.isnan(theirs)
    np.testing.assert_allclose(ours[ok], theirs[ok], rtol=1e-6, atol=1e-6)
