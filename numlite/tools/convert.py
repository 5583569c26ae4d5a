"""``numlite convert MODEL.keras -o MODEL.tflite``: a Keras 3 model as a .tflite file, without
TensorFlow (``numlite.converter``: the layers it converts are listed there).

The ``.keras`` file is read with Keras's NumPy backend unless ``KERAS_BACKEND`` names another;
a layer numlite cannot convert is one line naming the layer and its class (exit code 4), and
nothing is written.  Needs ``pip install 'numlite[convert]'``.
"""

from __future__ import annotations

import argparse
import os

from ._common import BAD_MODEL, MISSING_EXTRA, UNSUPPORTED, CLIError, write_whole


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert a Keras 3 model (.keras) to .tflite",
                       description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="a .keras file")
    p.add_argument("-o", "--output", required=True, help="the .tflite file to write")
    m = p.add_argument_group("TFLite metadata (written when any is given; read by numlite inspect and LiteRT's "
                             "task libraries)")
    m.add_argument("--name", help="the model's name (default: the Keras model's name)")
    m.add_argument("--description", help="what the model does")
    m.add_argument("--author")
    m.add_argument("--model-version", help="the model's version string")
    m.add_argument("--license")
    m.add_argument("--labels", metavar="FILE", help="a text file with one class label per line, for the first "
                   "output's last axis")
    m.add_argument("--mean", type=float, nargs="+", metavar="M", help="input normalization: the model expects "
                   "(x - mean) / std of raw input x (one value, or one per channel)")
    m.add_argument("--std", type=float, nargs="+", metavar="S", help="input normalization std (see --mean)")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from numlite.converter import ConversionError, KerasFileError, convert

    if not os.path.isfile(args.model):
        raise CLIError(f"no such file: {args.model}", BAD_MODEL)
    labels = None
    if args.labels is not None:
        try:
            with open(args.labels, encoding="utf-8") as f:
                labels = [line.rstrip("\r\n") for line in f]
        except (OSError, UnicodeDecodeError) as e:
            raise CLIError(f"cannot read the labels file {args.labels}: {e}", BAD_MODEL) from None
        while labels and not labels[-1].strip():
            labels.pop()
    try:
        data = convert(args.model, model_name=args.name, description=args.description, author=args.author,
                       version=args.model_version, license=args.license, labels=labels, input_mean=args.mean,
                       input_std=args.std)
    except ImportError as e:
        raise CLIError(str(e), MISSING_EXTRA) from None
    except KerasFileError as e:  # Keras cannot read the file (the message names it)
        raise CLIError(str(e), BAD_MODEL) from None
    except ConversionError as e:
        raise CLIError(str(e), UNSUPPORTED) from None
    write_whole(args.output, data)
    import numlite

    it = numlite.Interpreter(model_content=data)
    def names(details: list[dict]) -> str:
        return ", ".join(f"{d['name']}{[int(s) for s in d['shape_signature']]}" for d in details)
    print(f"wrote {args.output}: {len(data) / 1e6:.2f} MB, {len(it._get_ops_details())} ops; "
          f"inputs {names(it.get_input_details())}; outputs {names(it.get_output_details())}")
    return 0
