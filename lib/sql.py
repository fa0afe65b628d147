"""Writing many rows in few statements, for the paths that store thousands of rows at a time
(event ingest, transcript import), where the ORM's per-row work cost more than the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import Field, Model

# Rows per statement with multi-row VALUES: keeps the parameter count under SQLite's limit.
VALUES_ROWS = 500
# Rows per statement on Postgres, where each column is one array parameter.
ARRAY_ROWS = 10_000


def insert_rows(
    model: type[Model], columns: Sequence[str], rows: Sequence[Sequence], *, suffix: str = ""
) -> list[tuple]:
    """INSERT `rows` (values in `columns` order, field names or attnames) into `model`'s
    table, in the rows' order, with `suffix` (`ON CONFLICT …`, `RETURNING …`) after each
    statement; returns the rows RETURNING gave.

    On Postgres each column is sent as one binary array and unnested: a short statement
    whatever the number of rows, parsed once, where a VALUES list of thousands of
    placeholders was re-parsed on every batch (psycopg does not cache long queries).
    Elsewhere, multi-row VALUES.
    """
    if not rows:
        return []
    fields = _fields(model, columns)
    head = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} "
        f"({', '.join(_column(field) for field in fields)}) "
    )
    returned: list[tuple] = []
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%b::{field.db_type(connection)}[]" for field in fields)
        query = f"{head}SELECT * FROM unnest({arrays}) {suffix}"  # noqa: S608 - names only
        for start in range(0, len(rows), ARRAY_ROWS):
            part = rows[start : start + ARRAY_ROWS]
            returned += _execute_binary(query, [list(column) for column in zip(*part, strict=True)])
        return returned
    with connection.cursor() as cursor:
        marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
        for start in range(0, len(rows), VALUES_ROWS):
            part = rows[start : start + VALUES_ROWS]
            cursor.execute(
                f"{head}VALUES {', '.join([marks] * len(part))} {suffix}",
                [value for row in part for value in row],
            )
            returned += cursor.fetchall() if cursor.description else []
    return returned


def _fields(model: type[Model], names: Iterable[str]) -> list[Field]:
    """`model`'s fields by name or attname; a reverse relation, which has no column, is an error."""
    fields = []
    for name in names:
        field = model._meta.get_field(name)
        if not isinstance(field, Field):
            raise TypeError(f"{model.__name__}.{name} is a reverse relation, not a column")
        fields.append(field)
    return fields


def _column(field: Field) -> str:
    """The quoted column name of a field stored in its model's table."""
    if field.column is None:
        raise TypeError(f"{field} has no column")
    return connection.ops.quote_name(field.column)


def _execute_binary(query: str, params: list) -> list[tuple]:
    """Run `query` on Postgres with its parameters bound on the server, in binary (`%b`).

    Django's cursor binds on the client, writing each array out as text in Python; for
    arrays of thousands of values that cost more than Postgres took to insert them. Same
    connection and transaction as Django's; errors come out as Django's. Being outside
    Django's cursor, these statements are not in `connection.queries` under DEBUG."""
    import psycopg  # only on Postgres; SQLite installs need not have it

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def any_of(values: Sequence) -> tuple[str, list]:
    """A `column <this>` condition matching any of `values`, and its parameters: one array
    on Postgres (a short query, parsed once whatever the count), `IN (…)` elsewhere."""
    if connection.vendor == "postgresql":
        return "= ANY(%s)", [list(values)]
    return f"IN ({', '.join(['%s'] * len(values))})", list(values)


def update_rows(model: type[Model], rows: Iterable[Model], names: Sequence[str]) -> None:
    """Save fields `names` of many model instances: one UPDATE per row, sent together.

    Django's bulk_update builds a CASE per column and row, which cost more than the rest of
    an import's writes; psycopg sends an executemany in one round trip (pipeline mode)."""
    rows = list(rows)
    if not rows:
        return
    fields = _fields(model, names)
    columns = ", ".join(f"{_column(field)} = %s" for field in fields)
    query = (
        f"UPDATE {connection.ops.quote_name(model._meta.db_table)} SET {columns} "  # noqa: S608
        f"WHERE {_column(model._meta.pk)} = %s"
    )
    params = [
        [*(field.get_db_prep_save(getattr(row, field.attname), connection) for field in fields)]
        + [row.pk]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(query, params)
