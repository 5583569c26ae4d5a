"""The Smart Reply model's custom ops: Normalize, ExtractFeatures and Predict.

The 2017 On-Device Smart Reply model runs::

    input_sentence -> Normalize -> SKIP_GRAM -> ExtractFeatures -> LSH_PROJECTION
                   -> Predict -> HASHTABLE_LOOKUP -> (reply strings, scores)

The builtins (SKIP_GRAM, LSH_PROJECTION, HASHTABLE_LOOKUP) are numlite.ops kernels.  To run the
model, either enable the custom ops for every ``Interpreter`` with one call::

    from numlite.custom import smartreply
    smartreply.register()

or give them to one interpreter: ``Interpreter(model_path, custom_ops=smartreply.OPS)``.

Each op is a pure function (``normalize``, ``extract_features``, ``predict``) wrapped by a kernel.
"""

from __future__ import annotations

import re
import struct
from typing import Any

import numpy as np

from ..ops._farmhash import fingerprint64_strings
from ..ops.base import DynamicOutput, Kernel, PrepareContext, PrepareError, Step
from ..ops.registry import register_op

__all__ = ["normalize", "extract_features", "predict", "parse_predict_options", "Normalize",
           "ExtractFeatures", "Predict", "OPS", "register"]

# RE2 (which the C++ ops use) has \s = [\t\n\f\r ] and $ = end of text; spelled out for Python.
_S = rb"\t\n\f\r "
_ASCII_SPACE = b" \t\n\v\f\r"  # absl::ascii_isspace
MAX_INPUT_CHARS = 300
START_TOKEN, END_TOKEN = b"<S>", b"<E>"

_NORMALIZE_STEPS: list[tuple[re.Pattern[bytes], bytes]] = [
    (re.compile(rb'[.*()"]'), b""),
    (re.compile(rb"[" + _S + rb"]('t|'nt|n't|'d|'ll|'s|'m|'ve|'re)([" + _S + rb",;:/])"), rb"\1\2"),
    (re.compile(rb"[" + _S + rb"]('t|'nt|n't|'d|'ll|'s|'m|'ve|'re)\Z"), rb"\1"),
    # contractions, in the (sorted) order of the C++ std::map
    (re.compile(rb"([^" + _S + rb"]+)'ll"), rb"\1 will"),
    (re.compile(rb"([^" + _S + rb"]+)'nt"), rb"\1 not"),
    (re.compile(rb"([^" + _S + rb"]+)'re"), rb"\1 are"),
    (re.compile(rb"([^" + _S + rb"]+)'ve"), rb"\1 have"),
    (re.compile(rb"([^" + _S + rb"]+)n't"), rb"\1 not"),
    (re.compile(rb"i'm"), b"i am"),
    # questions and interjections
    (re.compile(rb"([?])+"), rb"\1"),
    (re.compile(rb"([!])+"), rb"\1"),
    (re.compile(rb"([^?!]+)([?!])"), rb"\1 \2 "),
    (re.compile(rb"([?!])([?!])"), rb"\1 \2"),
    (re.compile(rb"[" + _S + rb",:;\-&'\"]+\Z"), b""),
    (re.compile(rb"\A[" + _S + rb",:;\-&'\"]+"), b""),
]


def normalize(sentence: bytes | str) -> bytes:
    """The Normalize op on one sentence.

    1. Lower-case ASCII letters and strip ASCII whitespace at both ends.
    2. Delete ``. * ( ) "``.
    3. Re-attach split contractions (``don 't`` -> ``don't``), then expand ``'ll 'nt 're 've n't``
       and ``i'm`` (``x'll`` -> ``x will``, ``xn't`` -> ``x not``, ...).
    4. Collapse runs of ``?`` and of ``!``, put spaces around each ``?`` / ``!`` and between two.
    5. Strip ``[whitespace , : ; - & ' "]`` runs at both ends, then whitespace.
    6. Up to 300 bytes: ``"<S> " + text + " <E>"``; longer: ``"<S> " + text[:300]`` (no end token).
    """
    s = sentence.encode("utf-8") if isinstance(sentence, str) else bytes(sentence)
    s = s.lower().strip(_ASCII_SPACE)
    for pattern, repl in _NORMALIZE_STEPS:
        s = pattern.sub(repl, s)
    s = s.strip(_ASCII_SPACE)
    if len(s) <= MAX_INPUT_CHARS:
        s = s + b" " + END_TOKEN
    else:
        s = s[:MAX_INPUT_CHARS]
    return START_TOKEN + b" " + s


MAX_DIMENSION = 1000000
_BLOCKED_NGRAMS = frozenset((b"<S>", b"<E>", b"<S> <E>"))


def extract_features(ngrams: Any) -> tuple[np.ndarray, np.ndarray]:
    """The ExtractFeatures op: (int32 feature ids, float32 weights), one per n-gram.

    1. N-grams ``<S>``, ``<E>`` and ``<S> <E>`` get id 0 and weight 0.
    2. Any other n-gram gets id ``Fingerprint64(ngram) mod 1000000`` and weight = its number of
       spaces + 1 (its number of words).
    3. No n-grams: a single (0, 0) entry, so the outputs are never empty.
    """
    items = [g.encode("utf-8") if isinstance(g, str) else bytes(g) for g in np.asarray(ngrams, object).reshape(-1)]
    n = max(len(items), 1)
    ids = np.zeros(n, np.int32)
    weights = np.zeros(n, np.float32)
    keep = [i for i, g in enumerate(items) if g not in _BLOCKED_NGRAMS]
    if keep:
        fp = fingerprint64_strings([items[i] for i in keep])
        ids[keep] = (fp % np.uint64(MAX_DIMENSION)).astype(np.int32)
        weights[keep] = [items[i].count(b" ") + 1 for i in keep]
    return ids, weights


def parse_predict_options(data: bytes | bytearray | memoryview | None) -> tuple[int, float]:
    """Predict's custom options: (num_output, weight_threshold).

    1. They are the raw 8-byte C struct ``{int32 num_output; float32 weight_threshold}``
       (little-endian), not FlexBuffers; anything else is a ValueError.
    2. ``num_output`` must be positive and ``weight_threshold`` a number.
    """
    if data is None:
        raise ValueError("Predict needs custom options (int32 num_output, float32 weight_threshold); the node has none")
    raw = bytes(data)
    if len(raw) != 8:
        raise ValueError(f"Predict's custom options must be 8 bytes (int32 num_output, float32 weight_threshold), "
                         f"got {len(raw)}")
    num_output, threshold = struct.unpack("<if", raw)
    if num_output <= 0:
        raise ValueError(f"Predict's num_output must be positive, got {num_output}")
    if threshold != threshold:
        raise ValueError("Predict's weight_threshold is NaN")
    return num_output, threshold


def predict(lookup: np.ndarray, keys: np.ndarray, labels: np.ndarray, weights: np.ndarray,
            num_output: int, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """The Predict op: the best ``num_output`` (label, score) pairs for the hash signatures.

    1. Find each lookup signature in the sorted ``keys`` (binary search); skip misses.
    2. For each hit (in lookup order) and each of its row's items, add
       ``weight / num_lookups`` (float32) to that label's score.
    3. Sort labels by score, highest first (ties: first-seen label first; TFLite's order for ties
       comes from a hash map and is unspecified).
    4. Output slot ``i``: the ``i``-th label and score, or (-1, 0.0) past the end or below
       ``threshold``.
    """
    lookup = np.asarray(lookup, np.int32).reshape(-1)
    keys = np.asarray(keys, np.int32).reshape(-1)
    out_labels = np.full(num_output, -1, np.int32)
    out_weights = np.zeros(num_output, np.float32)
    num_input = lookup.size
    if num_input == 0 or keys.size == 0:
        return out_labels, out_weights
    pos = np.searchsorted(keys, lookup, side="left")
    clipped = np.minimum(pos, keys.size - 1)
    rows = clipped[(pos < keys.size) & (keys[clipped] == lookup)]
    if rows.size == 0:
        return out_labels, out_weights
    lab = np.asarray(labels, np.int32)[rows].reshape(-1)
    contrib = np.asarray(weights, np.float32)[rows].reshape(-1) / np.float32(num_input)
    uniq, first, inverse = np.unique(lab, return_index=True, return_inverse=True)
    scores = np.zeros(uniq.size, np.float32)
    np.add.at(scores, inverse.reshape(-1), contrib)  # in lookup order, float32 like the C++ map
    seen_order = np.argsort(first, kind="stable")
    order = seen_order[np.argsort(-scores[seen_order], kind="stable")]
    top = order[:num_output]
    keep = scores[top] >= np.float32(threshold)
    k = int(np.count_nonzero(keep)) if keep.all() else int(np.argmin(keep))
    out_labels[:k] = uniq[top[:k]]
    out_weights[:k] = scores[top[:k]]
    return out_labels, out_weights


def _put(dst: Any, value: np.ndarray) -> None:
    if isinstance(dst, DynamicOutput):
        dst.set(value)
    else:
        dst[...] = value


class Normalize(Kernel):
    """Normalize: string (first element) -> string[1] (see ``normalize``)."""

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        x = ctx.input(0)
        ctx.expect_dtype(x, [np.object_])
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        ctx.set_output(0, (1,), np.object_)
        self.where = f"{self.op_name} (node {self.node.index})"

    def bind(self, inputs: list[Any], outputs: list[Any], scratch: list[np.ndarray]) -> Step:
        x, out, where = inputs[0], outputs[0], self.where

        def step() -> None:
            if x.size == 0:
                raise RuntimeError(f"{where}: the input string tensor is empty")
            v = np.empty(1, object)
            v[0] = normalize(x.reshape(-1)[0])
            _put(out, v)

        return step


class ExtractFeatures(Kernel):
    """ExtractFeatures: string[n] -> int32[max(n, 1)], float32[max(n, 1)] (see ``extract_features``)."""

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        if len(ctx.outputs) != 2:
            ctx.fail(f"expects 2 outputs, got {len(ctx.outputs)}")
        x = ctx.input(0)
        ctx.expect_dtype(x, [np.object_])
        for i, dt in ((0, np.int32), (1, np.float32)):
            o = ctx.outputs[i]
            if o.dtype is not None and np.dtype(o.dtype) != np.dtype(dt):
                ctx.fail(f"output {o.describe()} must be {np.dtype(dt).name}")
        # one entry per n-gram, at least one; a rank-0 input (a dynamic tensor's first guess) counts as one
        n = max(int(x.shape[0]) if x.rank else 1, 1)
        ctx.set_output(0, (n,), np.int32)
        ctx.set_output(1, (n,), np.float32)

    def bind(self, inputs: list[Any], outputs: list[Any], scratch: list[np.ndarray]) -> Step:
        x, ids, weights = inputs[0], outputs[0], outputs[1]

        def step() -> None:
            a, b = extract_features(x)
            _put(ids, a)
            _put(weights, b)

        return step


class Predict(Kernel):
    """Predict: (signatures, keys, labels, weights) -> int32[num_output], float32[num_output]
    (see ``predict``; options from ``parse_predict_options``)."""

    def __init__(self, node: Any, options: Any):
        super().__init__(node, options)
        try:
            self.num_output, self.threshold = parse_predict_options(node.custom_options)
        except ValueError as e:
            raise PrepareError(f"Predict (node {node.index}): {e}") from None

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(4)
        if len(ctx.outputs) != 2:
            ctx.fail(f"expects 2 outputs, got {len(ctx.outputs)}")
        look, key, lab, w = (ctx.input(i) for i in range(4))
        for spec, dt, role in ((look, np.int32, "signatures"), (key, np.int32, "keys"),
                               (lab, np.int32, "labels"), (w, np.float32, "weights")):
            ctx.expect_dtype(spec, [dt], role)
        if not look.dynamic:
            ctx.expect_rank(look, 1, "signatures")
        ctx.expect_rank(key, 1, "keys")
        ctx.expect_rank(lab, 2, "labels")
        ctx.expect_rank(w, 2, "weights")
        if not (key.shape[0] == lab.shape[0] == w.shape[0]) or lab.shape[1] != w.shape[1]:
            ctx.fail(f"keys {key.describe()}, labels {lab.describe()} and weights {w.describe()} disagree in shape")
        if key.value is not None and key.value.size > 1 and (np.diff(key.value.astype(np.int64)) < 0).any():
            ctx.fail(f"keys {key.describe()} are not sorted ascending")
        for i, dt in ((0, np.int32), (1, np.float32)):
            o = ctx.outputs[i]
            if o.dtype is not None and np.dtype(o.dtype) != np.dtype(dt):
                ctx.fail(f"output {o.describe()} must be {np.dtype(dt).name}")
            ctx.set_output(i, (self.num_output,), dt)

    def bind(self, inputs: list[Any], outputs: list[Any], scratch: list[np.ndarray]) -> Step:
        look, key, lab, w = inputs
        out_l, out_w = outputs
        n, t = self.num_output, self.threshold

        def step() -> None:
            a, b = predict(look, key, lab, w, n, t)
            _put(out_l, a)
            _put(out_w, b)

        return step


OPS: dict[str, type[Kernel]] = {"Normalize": Normalize, "ExtractFeatures": ExtractFeatures, "Predict": Predict}


def register() -> None:
    """Register Normalize, ExtractFeatures and Predict for every ``Interpreter`` (idempotent); the
    builtins the model also uses are always available."""
    for name, cls in OPS.items():
        register_op(name, cls)
