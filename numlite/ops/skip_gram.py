"""SKIP_GRAM: the skip-gram n-grams of a sentence, as one string each (LiteRT 2.3, version 1).

The input is a string tensor of any shape; only its first string is read (LiteRT's rule).  The
output is a 1-D string tensor whose length depends on the text, so it is a dynamic output
(``ctx.set_output_dynamic``); a constant input is computed once at prepare instead.

1. Words (``split_words``): every byte that C's ``isspace`` accepts (``" \\t\\n\\v\\f\\r"``) at
   position 1 or later ends a word; the word is kept when it is non-empty and its first byte is
   not a space.  The bytes after the last such separator form the last word when non-empty.  So
   a space at position 0 never separates: ``" ab cd"`` gives only ``cd``, ``" ab"`` gives
   ``" ab"``.  Bytes of 0x80 and above are never spaces.
2. N-grams (``skip_grams``): with ``n = ngram_size`` and ``k = max_skip_size``, an n-gram is a
   sequence of word positions ``p1 < p2 < ...`` of length ``1..n`` where each position follows
   the previous one with at most ``k`` words skipped (``p[j+1] - p[j] <= k + 1``).  They are
   visited depth-first: first positions in order, then each prefix's extensions in order; a
   sequence is emitted after all its extensions (post-order), when its length is ``n``, or any
   length up to ``n`` with ``include_all_ngrams``.  Each is joined with single spaces.
3. Fewer words than ``n`` (or ``n <= 0``) give an empty output, with ``include_all_ngrams`` too.
4. Errors: an input tensor without strings (LiteRT reads past it and crashes) is refused at
   prepare, or at invoke when its shape changes to empty.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from .base import Kernel, PrepareContext, Step
from .registry import register

INPUT = 0
OBJ = np.dtype(object)
_SPACE = re.compile(rb"[ \t\n\v\f\r]")  # C's isspace() in the "C" locale
_SPACE_BYTES = frozenset(b" \t\n\v\f\r")


def split_words(sentence: bytes) -> list[bytes]:
    """The words SKIP_GRAM sees in ``sentence`` (module docstring, step 1)."""
    words = []
    start = 0
    for m in _SPACE.finditer(sentence, 1):
        end = m.start()
        if end > start and sentence[start] not in _SPACE_BYTES:
            words.append(sentence[start:end])
        start = end + 1
    if len(sentence) > start:
        words.append(sentence[start:])
    return words


def skip_grams(sentence: bytes, ngram_size: int, max_skip_size: int, include_all_ngrams: bool) -> list[bytes]:
    """SKIP_GRAM's output strings for one sentence, in LiteRT's order (module docstring, step 2).

    1. Split the words; fewer than ``ngram_size`` (or ``ngram_size <= 0``): nothing.
    2. Walk the tree of position sequences with an explicit stack of (sequence, next candidate):
       a sequence shorter than ``ngram_size`` tries the candidates ``last + 1 .. last + 1 +
       max_skip_size`` below the word count (the empty sequence tries every position).
    3. When a sequence has no candidate left it is emitted if its length qualifies, then popped.
    """
    words = split_words(sentence)
    n, count = ngram_size, len(words)
    if n <= 0 or count < n:
        return []
    out: list[bytes] = []
    seq: list[int] = []
    nxt = [0]  # nxt[d]: the next position to try after the first d positions
    while nxt:
        d = len(seq)
        cand = nxt[-1]
        limit = count if d == 0 else min(count, seq[-1] + 2 + max_skip_size)
        if d < n and cand < limit:
            nxt[-1] = cand + 1
            seq.append(cand)
            nxt.append(cand + 1)
            continue
        if d and (d <= n if include_all_ngrams else d == n):
            out.append(b" ".join(words[p] for p in seq))
        nxt.pop()
        if seq:
            seq.pop()
    return out


def _first_string(x: np.ndarray, where: str) -> bytes:
    if x.size == 0:
        raise RuntimeError(f"{where}: the input string tensor {list(x.shape)} has no strings")
    return bytes(x.reshape(-1)[0])


def _as_output(grams: list[bytes]) -> np.ndarray:
    arr = np.empty(len(grams), OBJ)
    arr[:] = grams
    return arr


@register("SKIP_GRAM", versions=(1,))
class SkipGram(Kernel):
    """SKIP_GRAM kernel (module docstring).  Options: ngram_size, max_skip_size, include_all_ngrams."""

    options_table = "SkipGramOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        x = ctx.input(INPUT)
        ctx.expect_dtype(x, (OBJ,), "input")
        out = ctx.outputs[0]
        if out.dtype is not None and np.dtype(out.dtype) != OBJ:
            ctx.fail(f"output {out.describe()} must be a string tensor")
        if x.size == 0:
            ctx.fail(f"input {x.describe()} has no strings; SKIP_GRAM reads the first one")
        self.ngram = int(self.options.get("ngram_size") or 0)
        self.skip = int(self.options.get("max_skip_size") or 0)
        self.include_all = bool(self.options.get("include_all_ngrams"))
        self.where = f"{self.op_name} (node {self.node.index})"
        if x.value is not None:  # a constant sentence: the n-grams are known now
            ctx.set_output_value(0, _as_output(skip_grams(_first_string(x.value, self.where), self.ngram,
                                                          self.skip, self.include_all)))
            return
        ctx.set_output_dynamic(0, OBJ)

    def bind(self, inputs: list[Any], outputs: list[Any], scratch: list[np.ndarray]) -> Step:
        x, out = inputs[INPUT], outputs[0]
        n, k, include_all, where = self.ngram, self.skip, self.include_all, self.where

        def step() -> None:
            out.set(_as_output(skip_grams(_first_string(x, where), n, k, include_all)))

        return step
