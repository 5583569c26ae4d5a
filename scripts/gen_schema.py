"""Generate ``numlite/schema/_schema.py`` from TFLite's ``schema.fbs``.

Usage: ``python scripts/gen_schema.py path/to/schema.fbs``

The output is a plain declarative description of the schema (enums, unions and
tables with their field types, defaults and vtable slots) that numlite's own
verifying reader and its writer interpret.  Regenerate it when the upstream
schema grows; new fields only ever append, so older models stay readable.
"""

from __future__ import annotations

import pprint
import re
import sys
from pathlib import Path

SCALARS = {"bool", "byte", "ubyte", "short", "ushort", "int", "uint", "long",
           "ulong", "float", "double", "int8", "uint8", "int16", "uint16",
           "int32", "uint32", "int64", "uint64", "float32", "float64"}
ALIASES = {"int8": "byte", "uint8": "ubyte", "int16": "short", "uint16": "ushort",
           "int32": "int", "uint32": "uint", "int64": "long", "uint64": "ulong",
           "float32": "float", "float64": "double"}


def strip_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", text)


def parse(text: str):
    text = strip_comments(text)
    enums: dict[str, tuple[str, dict[str, int]]] = {}
    unions: dict[str, list[str]] = {}
    tables: dict[str, list[tuple]] = {}
    for m in re.finditer(r"\b(enum|union|table|struct)\s+(\w+)\s*(?::\s*(\w+))?\s*(\([^)]*\))?\s*\{([^}]*)\}", text):
        kind, name, base, _attrs, body = m.groups()
        if kind == "struct":
            raise SystemExit(f"structs are not supported by the generator: {name}")
        if kind == "enum":
            values: dict[str, int] = {}
            nxt = 0
            for item in body.split(","):
                item = re.sub(r"\([^)]*\)", "", item).strip()
                if not item:
                    continue
                if "=" in item:
                    k, v = (s.strip() for s in item.split("="))
                    nxt = int(v, 0)
                else:
                    k = item
                values[k] = nxt
                nxt += 1
            enums[name] = (ALIASES.get(base, base), values)
        elif kind == "union":
            members = []
            for item in body.split(","):
                item = re.sub(r"\([^)]*\)", "", item).strip()
                if item:
                    members.append(item)
            unions[name] = members
        else:
            fields = []
            for decl in body.split(";"):
                decl = decl.strip()
                if not decl:
                    continue
                fm = re.match(r"(\w+)\s*:\s*(\[?\s*\w+\s*\]?)\s*(?:=\s*([^(\s]+))?\s*(\(.*\))?$", decl, re.S)
                if not fm:
                    raise SystemExit(f"cannot parse field in {name}: {decl!r}")
                fname, ftype, default, attrs = fm.groups()
                ftype = ftype.replace(" ", "")
                deprecated = bool(attrs and "deprecated" in attrs)
                fields.append((fname, ftype, default, deprecated))
            tables[name] = fields
    return enums, unions, tables


def resolve(enums, unions, tables):
    """Assign vtable slots and normalise types to the reader's vocabulary."""
    out = {}
    field_enums = {}
    for tname, fields in tables.items():
        slot = 0
        rows = []
        for fname, ftype, default, deprecated in fields:
            is_vec = ftype.startswith("[")
            base = ftype.strip("[]")
            base = ALIASES.get(base, base)
            if base in unions:
                if not deprecated:
                    rows.append((fname, "union", base, None, slot))
                slot += 2
                continue
            if base in SCALARS or base in ALIASES.values():
                kind, btype = "scalar", base
            elif base in enums:
                kind, btype = "scalar", enums[base][0]
                field_enums[f"{tname}.{fname}"] = base
                if default is not None and not re.match(r"-?\d", default):
                    default = enums[base][1][default]
                elif default is None:
                    default = 0
            elif base == "string":
                kind, btype = "string", None
            elif base in tables:
                kind, btype = "table", base
            else:
                raise SystemExit(f"unknown type {base} in {tname}.{fname}")
            if is_vec:
                kind = {"scalar": "vector", "string": "vector_string", "table": "vector_table"}[kind]
                btype = btype if btype else "string"
            if kind == "scalar":
                if default is None:
                    default = 0
                elif default in ("true", "false"):
                    default = default == "true"
                elif isinstance(default, str):
                    default = float(default) if btype in ("float", "double") else int(default, 0)
                if btype == "bool":
                    default = bool(default)
                elif btype in ("float", "double"):
                    default = float(default)
            else:
                default = None
            if not deprecated:
                rows.append((fname, kind, btype, default, slot))
            slot += 1
        out[tname] = rows
    return out, field_enums


def main() -> None:
    src = Path(sys.argv[1]).read_text()
    enums, unions, tables = parse(src)
    rtables, field_enums = resolve(enums, unions, tables)
    dst = Path(__file__).resolve().parent.parent / "numlite" / "schema" / "_schema.py"
    with dst.open("w") as f:
        f.write('"""TFLite schema description, generated by scripts/gen_schema.py from schema.fbs. Do not edit.\n\n')
        f.write("TABLES: name -> [(field, kind, type, default, slot)], kind in scalar/string/table/union/\n")
        f.write("vector/vector_string/vector_table.  UNIONS: name -> member tables (type id = position + 1).\n")
        f.write('ENUMS: name -> (underlying scalar type, {member: value}).  FIELD_ENUMS: enum-typed fields.\n"""\n\n')
        f.write("# ruff: noqa: E501\n\n")
        f.write("ENUMS = " + pprint.pformat(enums, width=100, sort_dicts=False) + "\n\n")
        f.write("UNIONS = " + pprint.pformat(unions, width=100, sort_dicts=False) + "\n\n")
        f.write("TABLES = " + pprint.pformat(rtables, width=100, sort_dicts=False) + "\n\n")
        f.write("# 'Table.field' -> enum type name, for fields declared with an enum type\n")
        f.write("FIELD_ENUMS = " + pprint.pformat(field_enums, width=100, sort_dicts=False) + "\n")
    print(f"wrote {dst}: {len(enums)} enums, {len(unions)} unions, {len(rtables)} tables")


if __name__ == "__main__":
    main()
