"""Every subcommand, given a file it cannot use, exits non-zero with one line on stderr.

The cases of issue #10's target: a missing file, a directory, a non-TFLite file, a truncated
model, and (for the commands that take images) an image of the wrong kind.  Each must give the
exit code of ``numlite.tools._common`` and exactly one line, never a traceback.
"""

from __future__ import annotations

import numpy as np
import pytest

from numlite import models
from numlite.tools.cli import main

COMMANDS = {  # subcommand -> extra arguments it needs besides the model
    "run": [],
    "bench": ["--num_runs", "1", "--warmup_runs", "1", "--min_secs", "0", "--warmup_min_secs", "0"],
    "inspect": [],
    "visualize": ["-o", "{tmp}/out.html"],
    "compare": [],
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    good = models.build("mobilenet_v1_tiny")
    (d / "good.tflite").write_bytes(good)
    (d / "truncated.tflite").write_bytes(good[: len(good) // 3])
    (d / "text.tflite").write_bytes(b"this is not a model\n" * 10)
    (d / "empty.tflite").write_bytes(b"")
    (d / "a_dir").mkdir()
    (d / "notes.png").write_bytes(b"not really a png")
    return d


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("bad,code", [("missing.tflite", 3), ("a_dir", 3), ("text.tflite", 3),
                                      ("truncated.tflite", 3), ("empty.tflite", 3)])
def test_bad_model_files(command, bad, code, files, capsys):
    extra = [a.replace("{tmp}", str(files)) for a in COMMANDS[command]]
    rc = main([command, str(files / bad), *extra])
    err = capsys.readouterr().err
    assert rc == code, err
    assert err.startswith(f"numlite {command}: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", ["run", "bench", "compare"])
def test_wrong_image_or_array_input(command, files, capsys):
    pytest.importorskip("PIL")
    extra = [a.replace("{tmp}", str(files)) for a in COMMANDS[command]]
    rc = main([command, str(files / "good.tflite"), *extra, "--input", f"input={files / 'notes.png'}"])
    err = capsys.readouterr().err
    assert rc == 5, err
    assert err.startswith(f"numlite {command}: error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_run_with_a_wrong_shape_array(files, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((2, 2), np.float32))
    rc = main(["run", str(files / "good.tflite"), "--input", f"input={tmp_path / 'x.npy'}"])
    err = capsys.readouterr().err
    assert rc == 5 and err.count("\n") == 1, err
