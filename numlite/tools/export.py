"""``numlite export MODEL.tflite -o MODEL.onnx``: the whole model as an ONNX file.

The ops numlite's ONNX Runtime delegate maps (``numlite.delegates.onnx_graph``: float32, int8 /
uint8 in QDQ form, float32 LSTMs), NHWC at the inputs and outputs and NCHW inside (the
Transposes between layers cancelled); input and output names are the model's; dim 0 is left
free (``batch``) where every input's ``shape_signature`` starts with -1 (``--static-batch`` pins
it).  A model with an op that does not map (hybrid or int16 forms, control flow, custom ops) is
refused with every such op named, and nothing is written.  Needs
the ``onnx`` package (``pip install 'numlite[onnxruntime]'``); ``--check`` runs the result with
ONNX Runtime against numlite on random inputs and prints the largest difference.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np

from ._common import MISSING_EXTRA, UNSUPPORTED, CLIError, check_model_path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write the model as an ONNX file", description=__doc__.split("\n\n")[0],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="a .tflite file")
    p.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    p.add_argument("--static-batch", action="store_true", help="keep the batch size fixed even where it is dynamic")
    p.add_argument("--check", action="store_true", help="run the ONNX file with onnxruntime against numlite")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    check_model_path(args.model)
    try:
        from numlite.delegates.onnx_graph import export
    except ImportError as e:  # pragma: no cover - the module itself imports onnx lazily
        raise CLIError(str(e), MISSING_EXTRA) from None
    tmp = args.output + ".partial"  # written whole, then renamed: a failed export leaves no file
    try:
        proto = _export_to(export, args.model, tmp, None if not args.static_batch else False)
    except ImportError as e:
        raise CLIError(str(e), MISSING_EXTRA) from None
    except ValueError as e:
        if str(e).startswith("cannot export") or "subgraphs" in str(e):
            raise CLIError(str(e), UNSUPPORTED) from None
        raise
    os.replace(tmp, args.output)
    ins = ", ".join(f"{i.name}{_dims(i)}" for i in proto.graph.input)
    outs = ", ".join(f"{o.name}{_dims(o)}" for o in proto.graph.output)
    print(f"wrote {args.output}: {len(proto.graph.node)} ONNX nodes (opset {proto.opset_import[0].version}); "
          f"inputs {ins}; outputs {outs}")
    if args.check:
        print(check(args.model, args.output))
    return 0


def _export_to(export: Any, model: str, path: str, dynamic_batch: bool | None) -> Any:
    try:
        return export(model, path, dynamic_batch=dynamic_batch)
    except BaseException:
        if os.path.exists(path):
            os.remove(path)
        raise


def _dims(v: object) -> str:
    dims = [d.dim_param or str(d.dim_value) for d in v.type.tensor_type.shape.dim]  # type: ignore[attr-defined]
    return "[" + ", ".join(dims) + "]"


def check(model: str, onnx_path: str) -> str:
    """Run both on the same seeded inputs; the largest difference relative to each output's magnitude."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise CLIError("--check needs onnxruntime: pip install 'numlite[onnxruntime]'", MISSING_EXTRA) from None
    import numlite

    it = numlite.Interpreter(model_path=model)
    it.allocate_tensors()
    feeds = [np.random.default_rng(0).random(d["shape"]).astype(d["dtype"]) for d in it.get_input_details()]
    for d, v in zip(it.get_input_details(), feeds):
        it.set_tensor(d["index"], v)
    it.invoke()
    ours = [it.get_tensor(d["index"]) for d in it.get_output_details()]
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    theirs = sess.run(None, {i.name: v for i, v in zip(sess.get_inputs(), feeds)})
    rel = max(float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(a))), 1e-30)) for a, b in zip(ours, theirs))
    return f"check: onnxruntime {ort.__version__} against numlite on random inputs: max relative difference {rel:.2e}"
