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
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from numlite.converter import ConversionError, convert

    if not os.path.isfile(args.model):
        raise CLIError(f"no such file: {args.model}", BAD_MODEL)
    try:
        data = convert(args.model)
    except ImportError as e:
        raise CLIError(str(e), MISSING_EXTRA) from None
    except ConversionError as e:
        raise CLIError(str(e), UNSUPPORTED) from None
    except (ValueError, OSError) as e:  # Keras cannot read the file
        raise CLIError(f"cannot read {args.model} as a Keras model: {str(e).strip().splitlines()[0]}", BAD_MODEL) \
            from None
    write_whole(args.output, data)
    import numlite

    it = numlite.Interpreter(model_content=data)
    def names(details: list[dict]) -> str:
        return ", ".join(f"{d['name']}{[int(s) for s in d['shape_signature']]}" for d in details)
    print(f"wrote {args.output}: {len(data) / 1e6:.2f} MB, {len(it._get_ops_details())} ops; "
          f"inputs {names(it.get_input_details())}; outputs {names(it.get_output_details())}")
    return 0
