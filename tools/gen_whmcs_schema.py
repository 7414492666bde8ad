#!/usr/bin/env python3
"""Generate a MariaDB schema fixture from the WHMCS table description.

Usage::

    python tools/gen_whmcs_schema.py [TABLES_MD] [OUTPUT_SQL]

``TABLES_MD`` defaults to ``../shared/whmcs_tables.md`` relative to the
repository root and ``OUTPUT_SQL`` to ``rig/whmcs_schema.sql``.

The markdown lists, per table, every column (name, type, NULL/NOT NULL,
default, notes) and a ``**Keys:**`` line.  The generator reproduces them as
``CREATE TABLE IF NOT EXISTS`` statements without changing anything: NOT NULL
columns without a default stay that way and zero-date defaults are kept, so
code tested against the fixture meets the constraints of a real WHMCS
database.  The document's own summary lines (column counts, index counts,
"NOT NULL with no default", "Zero-date defaults") are cross-checked and any
mismatch aborts the run.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INPUT = REPO_ROOT.parent / "shared" / "whmcs_tables.md"
DEFAULT_OUTPUT = REPO_ROOT / "rig" / "whmcs_schema.sql"

ENGINE = "InnoDB"
CHARSET = "utf8mb3"
COLLATION = "utf8mb3_unicode_ci"

NO_DEFAULT = "\u2014"  # em dash: "no DEFAULT clause at all"
ZERO_DATES = frozenset({"'0000-00-00'", "'0000-00-00 00:00:00'"})

_TABLE_HEADING = re.compile(r"^## (tbl\w+)\s*$")
_SECTION_HEADING = re.compile(r"^## ")
_INDEX_ROW = re.compile(r"^\|\s*\[(tbl\w+)\]\(#tbl\w+\)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|.*\|\s*$")
_CHARSET_LINE = re.compile(
    r"^\*\*Charset/collation:\*\*\s*(\w+)\s*/\s*(\w+)\s*·\s*engine\s+(\w+)"
    r".*·\s*(\d+) columns\s*$"
)
_KEYS_LINE = re.compile(r"^\*\*Keys:\*\*\s*(.+?)\s*$")
_SUMMARY_LINE = re.compile(r"^\*\*(NOT NULL with no default|Zero-date defaults) \((\d+)\):\*\*\s*(.*?)\s*$")
_KEY_ITEM = re.compile(r"^(PRIMARY KEY|UNIQUE|INDEX)(?:\s+`(\w+)`)?\s*\((.+)\)$")
_KEY_PART = re.compile(r"^(\w+)(?:\((\d+)\))?$")
_BACKTICKED = re.compile(r"^`([^`]+)`$")
_DEFAULT_LITERAL = re.compile(r"^(NULL|-?\d+(?:\.\d+)?|'(?:[^'\\]|\\.|'')*')$")
_TYPE = re.compile(
    r"^(?:(?:tiny|small|medium|big)?int\(\d+\)(?: unsigned)?"
    r"|decimal\(\d+,\d+\)(?: unsigned)?"
    r"|varchar\(\d+\)"
    r"|(?:tiny|medium|long)?text|(?:tiny|medium|long)?blob"
    r"|date|datetime|timestamp"
    r"|enum\('[^']*'(?:,'[^']*')*\))$"
)


class SchemaError(ValueError):
    """The markdown does not describe a schema the generator can reproduce."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool
    default: str | None  # SQL literal as written, or None for "no DEFAULT"
    auto_increment: bool


@dataclass(frozen=True)
class KeyPart:
    column: str
    prefix: int | None


@dataclass(frozen=True)
class Key:
    kind: str  # "PRIMARY KEY", "UNIQUE" or "INDEX"
    name: str | None
    parts: tuple[KeyPart, ...]


@dataclass
class Table:
    name: str
    declared_columns: int = -1
    columns: list[Column] = field(default_factory=list)
    keys: list[Key] = field(default_factory=list)
    summaries: dict[str, list[str]] = field(default_factory=dict)


def _unbacktick(cell: str, what: str) -> str:
    match = _BACKTICKED.match(cell)
    if match is None:
        raise SchemaError(f"{what}: expected a `backticked` value, got {cell!r}")
    return match.group(1)


def _split_row(line: str) -> list[str]:
    # Cells never contain a pipe character (enum values are plain words).
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _parse_column(table: str, line: str) -> Column:
    cells = _split_row(line)
    if len(cells) != 5:
        raise SchemaError(f"{table}: column row has {len(cells)} cells: {line!r}")
    name_cell, type_cell, null_cell, default_cell, notes = cells
    name = _unbacktick(name_cell, f"{table} column name")
    col_type = _unbacktick(type_cell, f"{table}.{name} type")
    if not _TYPE.match(col_type):
        raise SchemaError(f"{table}.{name}: unrecognised type {col_type!r}")
    if null_cell == "NOT NULL":
        nullable = False
    elif null_cell == "NULL":
        nullable = True
    else:
        raise SchemaError(f"{table}.{name}: bad NULL/NOT NULL cell {null_cell!r}")
    default: str | None
    if default_cell == NO_DEFAULT:
        default = None
    else:
        default = _unbacktick(default_cell, f"{table}.{name} default")
        if not _DEFAULT_LITERAL.match(default):
            raise SchemaError(f"{table}.{name}: unrecognised default {default!r}")
        if default == "NULL" and not nullable:
            raise SchemaError(f"{table}.{name}: DEFAULT NULL on a NOT NULL column")
    note_items = {item.strip() for item in notes.split(";")}
    auto_increment = "auto_increment" in note_items
    if "no default" in note_items and default is not None:
        raise SchemaError(f"{table}.{name}: notes say 'no default' but default is {default}")
    if "zero-date default" in note_items and default not in ZERO_DATES:
        raise SchemaError(f"{table}.{name}: notes say zero-date default, default is {default}")
    return Column(name, col_type, nullable, default, auto_increment)


def _parse_keys(table: str, text: str) -> list[Key]:
    keys: list[Key] = []
    for raw in text.split(";"):
        item = raw.strip()
        match = _KEY_ITEM.match(item)
        if match is None:
            raise SchemaError(f"{table}: cannot parse key {item!r}")
        kind, name, cols = match.groups()
        if (kind == "PRIMARY KEY") != (name is None):
            raise SchemaError(f"{table}: key name mismatch in {item!r}")
        parts: list[KeyPart] = []
        for raw_part in cols.split(","):
            part = _KEY_PART.match(raw_part.strip())
            if part is None:
                raise SchemaError(f"{table}: cannot parse key part {raw_part!r}")
            prefix = int(part.group(2)) if part.group(2) else None
            parts.append(KeyPart(part.group(1), prefix))
        keys.append(Key(kind, name, tuple(parts)))
    return keys


def parse(markdown: str) -> tuple[list[Table], dict[str, tuple[int, int]]]:
    """Return the tables in document order and the index-of-tables counts."""
    tables: list[Table] = []
    overview: dict[str, tuple[int, int]] = {}
    current: Table | None = None
    in_columns = False
    for line in markdown.splitlines():
        if (row := _INDEX_ROW.match(line)) is not None:
            overview[row.group(1)] = (int(row.group(2)), int(row.group(3)))
            continue
        if (heading := _TABLE_HEADING.match(line)) is not None:
            current = Table(heading.group(1))
            tables.append(current)
            in_columns = False
            continue
        if _SECTION_HEADING.match(line):
            current = None
            in_columns = False
            continue
        if current is None:
            continue
        if (charset := _CHARSET_LINE.match(line)) is not None:
            found = (charset.group(1), charset.group(2), charset.group(3))
            if found != (CHARSET, COLLATION, ENGINE):
                raise SchemaError(f"{current.name}: unexpected charset/engine {found}")
            current.declared_columns = int(charset.group(4))
        elif line.startswith("| name |"):
            in_columns = True
        elif in_columns and line.startswith("|---"):
            continue
        elif in_columns and line.startswith("|"):
            current.columns.append(_parse_column(current.name, line))
        elif (keys := _KEYS_LINE.match(line)) is not None:
            in_columns = False
            current.keys = _parse_keys(current.name, keys.group(1))
        elif (summary := _SUMMARY_LINE.match(line)) is not None:
            label, count, items = summary.groups()
            names = (
                []
                if items == "none"
                else [_unbacktick(item.strip(), f"{current.name} {label}") for item in items.split(",")]
            )
            if len(names) != int(count):
                raise SchemaError(f"{current.name}: '{label}' count {count} != {len(names)} listed")
            current.summaries[label] = names
        else:
            in_columns = False
    return tables, overview


def validate(tables: list[Table], overview: dict[str, tuple[int, int]]) -> None:
    """Cross-check every table against the document's own summary figures."""
    names = [table.name for table in tables]
    if sorted(names) != sorted(overview) or len(set(names)) != len(names):
        raise SchemaError(f"table sections {names} do not match the index {sorted(overview)}")
    for table in tables:
        where = table.name
        columns = {column.name: column for column in table.columns}
        if len(columns) != len(table.columns):
            raise SchemaError(f"{where}: duplicate column names")
        expected_cols, expected_keys = overview[where]
        if not len(table.columns) == table.declared_columns == expected_cols:
            raise SchemaError(
                f"{where}: {len(table.columns)} columns parsed, section says "
                f"{table.declared_columns}, index says {expected_cols}"
            )
        if len(table.keys) != expected_keys:
            raise SchemaError(f"{where}: {len(table.keys)} keys parsed, index says {expected_keys}")
        primaries = [key for key in table.keys if key.kind == "PRIMARY KEY"]
        if len(primaries) != 1:
            raise SchemaError(f"{where}: expected exactly one PRIMARY KEY")
        for key in table.keys:
            for part in key.parts:
                column = columns.get(part.column)
                if column is None:
                    raise SchemaError(f"{where}: key {key.name} uses unknown column {part.column}")
                blob_like = column.type.endswith(("text", "blob"))
                if blob_like and part.prefix is None:
                    raise SchemaError(f"{where}: {part.column} is {column.type}, needs a prefix")
        for column in table.columns:
            if column.auto_increment and not any(part.column == column.name for key in primaries for part in key.parts):
                raise SchemaError(f"{where}.{column.name}: auto_increment outside the PK")
        no_default = [c.name for c in table.columns if not c.nullable and c.default is None]
        no_default = [name for name in no_default if not columns[name].auto_increment]
        zero_dates = [c.name for c in table.columns if c.default in ZERO_DATES]
        for label, found in (
            ("NOT NULL with no default", no_default),
            ("Zero-date defaults", zero_dates),
        ):
            if table.summaries.get(label) != found:
                raise SchemaError(f"{where}: '{label}' lists {table.summaries.get(label)}, columns give {found}")


def _quote(identifier: str) -> str:
    return f"`{identifier}`"


def _column_sql(column: Column) -> str:
    pieces = [_quote(column.name), column.type]
    pieces.append("NULL" if column.nullable else "NOT NULL")
    if column.default is not None:
        pieces.append(f"DEFAULT {column.default}")
    if column.auto_increment:
        pieces.append("AUTO_INCREMENT")
    return " ".join(pieces)


def _key_sql(key: Key) -> str:
    parts = ",".join(
        _quote(part.column) + (f"({part.prefix})" if part.prefix is not None else "") for part in key.parts
    )
    if key.kind == "PRIMARY KEY":
        return f"PRIMARY KEY ({parts})"
    if key.name is None:
        raise SchemaError(f"unnamed {key.kind}")
    keyword = "UNIQUE KEY" if key.kind == "UNIQUE" else "KEY"
    return f"{keyword} {_quote(key.name)} ({parts})"


def render(tables: list[Table], source_name: str) -> str:
    out = [
        f"-- Generated from {source_name} by tools/gen_whmcs_schema.py.",
        "-- DO NOT EDIT BY HAND: change the markdown or the generator and re-run",
        "--   python tools/gen_whmcs_schema.py [TABLES_MD] [OUTPUT_SQL]",
        "-- WHMCS 8.x core tables as dumped from a live install (structure only).",
        "-- NOT NULL columns without a default and zero-date defaults are intentional.",
        "",
        "SET SQL_MODE='NO_AUTO_VALUE_ON_ZERO';",
        "SET NAMES utf8mb4;",
    ]
    for table in tables:
        lines = [_column_sql(column) for column in table.columns]
        lines += [_key_sql(key) for key in table.keys]
        out.append("")
        out.append(f"CREATE TABLE IF NOT EXISTS {_quote(table.name)} (")
        out.append(",\n".join(f"  {line}" for line in lines))
        out.append(f") ENGINE={ENGINE} DEFAULT CHARSET={CHARSET} COLLATE={COLLATION};")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) > 3:
        print(__doc__, file=sys.stderr)
        return 2
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_INPUT
    target = Path(argv[2]) if len(argv) > 2 else DEFAULT_OUTPUT
    try:
        tables, overview = parse(source.read_text(encoding="utf-8"))
        validate(tables, overview)
    except (OSError, SchemaError) as exc:
        print(f"gen_whmcs_schema: {exc}", file=sys.stderr)
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(tables, source.name), encoding="utf-8")
    print(f"wrote {target} ({len(tables)} tables)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
