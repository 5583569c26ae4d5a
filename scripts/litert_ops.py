"""Ask the installed LiteRT which operators its op resolvers run; write ``tests/data/litert_ops.json``.

Usage: ``python scripts/litert_ops.py [--out tests/data/litert_ops.json] [--max-version 16]``

Method: for every ``BuiltinOperator`` code in numlite's schema and every version from 1 to
``--max-version``, numlite's writer builds a model holding that one operator (one float32 input,
one float32 output, no options) and ``ai_edge_litert``'s interpreter allocates it, once with the
default resolver (``AUTO``: the builtin kernels, XNNPACK on top) and once with ``BUILTIN_REF``.
LiteRT looks the operator up before it prepares the node, so the error tells the two cases apart:
"Didn't find op for builtin opcode" (or "custom op") means the resolver lacks that code and
version; any other outcome - a prepare error about the inputs, or success - means a kernel is
registered.  The same is done for the custom operator names LiteRT's Python interpreter is known
to register (``CUSTOM_CANDIDATES``).  Each operator runs in its own subprocess, so a kernel that
crashes on the dummy node is recorded as registered (it was found, then failed in prepare)
instead of ending the survey.

The JSON file maps each resolver to ``{op name: [versions]}`` plus the custom names, with the
LiteRT version that answered.  ``tests/test_supported_ops.py`` reads it: numlite must support
every operator and version on the default resolver's list.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# Custom op names that LiteRT's Python interpreter registers by default, or that might be;
# each is probed, and only those LiteRT finds are written.
CUSTOM_CANDIDATES = ["TFLite_Detection_PostProcess", "Mfcc", "AudioSpectrogram", "Convolution2DTransposeBias",
                     "MaxPoolingWithArgmax2D", "MaxUnpooling2D", "TransformLandmarks", "TransformTensorBilinear",
                     "Landmarks2TransformMatrix", "NumericVerify", "ExtractFeatures", "Normalize", "Predict",
                     "RFFT2D", "IRFFT2D", "Atan2", "MultinomialV2", "RandomUniform", "RandomStandardNormal",
                     "SignatureRunnerHelper", "CallOnce", "HashtableV2", "FlexAddV2"]

NOT_FOUND = ("Didn't find op for builtin opcode", "Didn't find custom op", "Encountered unresolved custom op",
             "Select TensorFlow op(s)", "Regular TensorFlow ops are not supported")

CHILD = r"""
import sys, json
import numpy as np
sys.path.insert(0, sys.argv[1])
from numlite.builder import ModelBuilder
from ai_edge_litert.interpreter import Interpreter, OpResolverType
name, max_v = sys.argv[2], int(sys.argv[3])
NOT_FOUND = {not_found!r}
res = {{}}
for resolver in ("AUTO", "BUILTIN_REF"):
    found = []
    for v in range(1, max_v + 1):
        mb = ModelBuilder()
        a = mb.input("a", (1,), np.float32)
        o = mb.tensor("o", (1,), np.float32)
        mb.op(name, [a], [o], version=v)
        mb.output(o)
        # report before the attempt: a crash in prepare still tells what was found
        print(json.dumps([resolver, v, "trying"]), flush=True)
        try:
            it = Interpreter(model_content=mb.build(),
                             experimental_op_resolver_type=getattr(OpResolverType, resolver))
            it.allocate_tensors()
            ok = True
        except Exception as e:  # noqa: BLE001 - any error other than "not found" means registered
            ok = not any(s in str(e) for s in NOT_FOUND)
        print(json.dumps([resolver, v, ok]), flush=True)
"""


def probe(name: str, max_v: int) -> dict[str, list[int]]:
    code = CHILD.format(not_found=NOT_FOUND)
    found: dict[str, list[int]] = {"AUTO": [], "BUILTIN_REF": []}
    done: set[tuple[str, int]] = set()
    while True:
        p = subprocess.run([sys.executable, "-c", code, ROOT, name, str(max_v)], capture_output=True, text=True,
                           timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        last = None
        for line in p.stdout.splitlines():
            try:
                resolver, v, ok = json.loads(line)
            except ValueError:
                continue
            if ok == "trying":
                last = (resolver, v)
                continue
            done.add((resolver, v))
            if ok and v not in found[resolver]:
                found[resolver].append(v)
        if p.returncode == 0:
            return found
        # the child died inside LiteRT on (resolver, v): found, then crashed in prepare
        if last is None or last in done:
            raise RuntimeError(f"probe of {name} failed: {p.stderr[-500:]}")
        found[last[0]].append(last[1])
        done.add(last)
        code = CHILD.format(not_found=NOT_FOUND).replace(
            "for v in range(1, max_v + 1):",
            f"for v in [v for v in range(1, max_v + 1) if (resolver, v) not in {sorted(done)!r}]:")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "litert_ops.json"))
    ap.add_argument("--max-version", type=int, default=16)
    args = ap.parse_args()
    import ai_edge_litert

    from numlite.graph import BUILTIN_CODES

    result: dict = {"litert_version": getattr(ai_edge_litert, "__version__", "?"),
                    "method": "scripts/litert_ops.py: one single-op model per code and version; "
                              "registered unless LiteRT reports the op not found",
                    "AUTO": {}, "BUILTIN_REF": {}, "custom": {"AUTO": [], "BUILTIN_REF": []}}
    for name, code in sorted(BUILTIN_CODES.items(), key=lambda kv: kv[1]):
        if name == "CUSTOM" or name.startswith("PLACEHOLDER"):
            continue
        found = probe(name, args.max_version)
        for r in ("AUTO", "BUILTIN_REF"):
            if found[r]:
                result[r][name] = sorted(found[r])
        print(f"{code:4d} {name:40s} AUTO {found['AUTO']} REF {found['BUILTIN_REF']}", flush=True)
    for name in CUSTOM_CANDIDATES:
        found = probe("custom:" + name, 1)
        for r in ("AUTO", "BUILTIN_REF"):
            if found[r]:
                result["custom"][r].append(name)
        print(f"     custom:{name:33s} AUTO {found['AUTO']} REF {found['BUILTIN_REF']}", flush=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {args.out}: {len(result['AUTO'])} builtin operators (AUTO), {len(result['BUILTIN_REF'])} "
          f"(BUILTIN_REF), custom {result['custom']['AUTO']}")


if __name__ == "__main__":
    main()
