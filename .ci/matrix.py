"""What CI tests numlite on: the CPython interpreters, and the oldest dependencies numlite admits.

``python .ci/matrix.py pythons`` prints one line per CPython minor version that pyenv has and
``pyproject.toml``'s ``requires-python`` admits, newest patch release of each, oldest first:
``VERSION PATH``.  Only final CPython releases count (no PyPy, no ``-dev``, no free-threaded
``t`` builds).  Where pyenv is absent, or has none of them, it prints nothing and says why on
stderr: CI then runs on the default ``python3`` alone.

``python .ci/matrix.py floors`` prints pip requirements pinning every runtime dependency to the
lowest version ``pyproject.toml`` admits (``numpy>=1.23.2`` -> ``numpy==1.23.2``), for the
oldest-dependencies run.  Runs on any Python >= 3.10 (no ``tomllib``: the two fields are read
with regular expressions).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def _pyproject() -> str:
    return PYPROJECT.read_text(encoding="utf-8")


def python_floor() -> tuple[int, int]:
    m = re.search(r'^requires-python\s*=\s*">=\s*(\d+)\.(\d+)', _pyproject(), re.M)
    if not m:
        sys.exit("matrix.py: pyproject.toml has no requires-python = \">=X.Y\"")
    return int(m.group(1)), int(m.group(2))


def dependency_floors() -> list[str]:
    m = re.search(r"^dependencies\s*=\s*\[(.*?)\]", _pyproject(), re.M | re.S)
    if not m:
        sys.exit("matrix.py: pyproject.toml has no dependencies list")
    pins = []
    for req in re.findall(r'"([^"]+)"', m.group(1)):
        floor = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)\s*(?:,.*)?", req)
        if not floor:
            sys.exit(f"matrix.py: dependency {req!r} has no '>=' floor to test")
        pins.append(f"{floor.group(1)}=={floor.group(2)}")
    return pins


def _pyenv() -> str | None:
    exe = shutil.which("pyenv")
    if exe:
        return exe
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    exe = os.path.join(root, "bin", "pyenv")
    return exe if os.access(exe, os.X_OK) else None


def pythons() -> list[tuple[str, str]]:
    pyenv = _pyenv()
    if pyenv is None:
        print("matrix.py: pyenv is not installed here", file=sys.stderr)
        return []
    run = lambda *a: subprocess.run([pyenv, *a], capture_output=True, text=True, check=True).stdout  # noqa: E731
    root = run("root").strip()
    newest: dict[tuple[int, int], tuple[tuple[int, int, int], str]] = {}
    floor = python_floor()
    for name in run("versions", "--bare").split():
        m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", name)  # final CPython releases only
        if not m:
            continue
        ver = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
        exe = os.path.join(root, "versions", name, "bin", "python3")
        if ver[:2] >= floor and os.access(exe, os.X_OK) and ver > newest.get(ver[:2], ((0, 0, 0), ""))[0]:
            newest[ver[:2]] = (ver, exe)
    if not newest:
        print(f"matrix.py: pyenv has no CPython >= {floor[0]}.{floor[1]}", file=sys.stderr)
    return [(".".join(map(str, v)), exe) for _, (v, exe) in sorted(newest.items())]


def main(argv: list[str]) -> None:
    if argv == ["pythons"]:
        for ver, exe in pythons():
            print(ver, exe)
    elif argv == ["floors"]:
        print("\n".join(dependency_floors()))
    else:
        sys.exit("usage: python .ci/matrix.py pythons|floors")


if __name__ == "__main__":
    main(sys.argv[1:])
