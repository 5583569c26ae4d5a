"""numlite runs every operator LiteRT runs, and the README says so.

``tests/data/litert_ops.json`` is what ``scripts/litert_ops.py`` measured from the installed
LiteRT: every builtin operator code and version its default resolver (AUTO) and its reference
resolver (BUILTIN_REF) find, and the custom ops its Python interpreter registers.  Rerun the
script when LiteRT is upgraded; these tests then name what numlite lacks.
"""

import json
import os

import pytest

import numlite
from numlite.ops.registry import supported_builtins
from numlite.tools import ops_table

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "data", "litert_ops.json")) as f:
    LITERT = json.load(f)


@pytest.mark.parametrize("resolver", ["AUTO", "BUILTIN_REF"])
def test_every_builtin_litert_runs(resolver):
    have = supported_builtins()
    missing = {op: [v for v in vs if v not in have.get(op, [])] for op, vs in LITERT[resolver].items()}
    missing = {op: vs for op, vs in missing.items() if vs}
    assert not missing, f"numlite lacks these operators / versions that LiteRT's {resolver} resolver runs: {missing}"


def test_every_custom_op_litert_registers_is_enabled_by_default():
    """LiteRT runs these without being asked (SSD detectors, speech front ends), so a plain
    numlite.Interpreter must too."""
    shipped = {name for _, name, _ in ops_table.shipped_custom_ops()}
    assert set(LITERT["custom"]["AUTO"]) <= shipped, set(LITERT["custom"]["AUTO"]) - shipped
    enabled = numlite.OpResolver().custom
    assert set(LITERT["custom"]["AUTO"]) <= set(enabled), set(LITERT["custom"]["AUTO"]) - set(enabled)


def test_supported_ops_declares_types_of_every_builtin():
    rows = numlite.supported_ops()
    untyped = [r["op"] for r in rows if not r["custom"] and not r["dtypes"] and not r["quantized"]]
    assert not untyped, f"operators without declared tensor types: {untyped}"
    for r in rows:
        assert r["versions"] == sorted(set(r["versions"])) and r["versions"][0] >= 1


def test_readme_table_is_current():
    assert ops_table.main(["--check"]) == 0, "run: python -m numlite.tools.ops_table --write"
