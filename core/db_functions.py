"""SQL the ORM does not write for us, for the few hot paths where building the ORM's query costs more
than running it (availability's reads, authenticating every API call).

`epoch_seconds_sql` reads a timestamp column as whole seconds since 1970 (UTC), computed by the
database: hot reads such as availability's busy periods skip decoding every row into a Python
datetime, which costs about ten times what fetching the row does. `json_integer_sql` reads an integer
kept under a key of a JSON column, so a hand-written query can join on it. `SelectedModel` puts a
model's columns in such a query and builds the instance back from its part of a row, with the
conversions the ORM would apply.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Collection, Sequence
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)

# PostgreSQL: extract() gives a numeric with the fraction; floor it, as int(moment.timestamp()) does
# for moments after 1970.
_POSTGRESQL_EPOCH = "FLOOR(EXTRACT(EPOCH FROM {}))::bigint"
# SQLite keeps UTC datetimes as ISO text; strftime('%s') drops the fraction. The percent sign is
# doubled for the driver's parameter style.
_SQLITE_EPOCH = "CAST(strftime('%%s', {}) AS INTEGER)"

# PostgreSQL: only a plain run of digits is cast (anything else is NULL, never an error mid-request, and
# never a rounded number naming another row); bigint holds any 18-digit value.
_POSTGRESQL_JSON_INTEGER = "(CASE WHEN ({0} ->> '{1}') ~ '^[0-9]{{1,18}}$' THEN ({0} ->> '{1}')::bigint END)"
# SQLite: json_extract gives a JSON integer as an integer; any other type never equals an integer key.
_SQLITE_JSON_INTEGER = "json_extract({0}, '$.{1}')"


def epoch_seconds_sql(connection: BaseDatabaseWrapper, column: str) -> str:
    """SQL for a column's whole epoch seconds, for hand-written queries on a hot path (where the ORM's
    query building costs more than running the query)."""
    return (_SQLITE_EPOCH if connection.vendor == "sqlite" else _POSTGRESQL_EPOCH).format(column)


def json_integer_sql(connection: BaseDatabaseWrapper, column: str, key: str) -> str:
    """SQL for the integer under `key` of a JSON object column (NULL when absent or not an integer).
    `key` is a name from the code, never a value from a request."""
    if not key.isidentifier():
        raise ValueError(f"Not a JSON key this helper reads: {key!r}")
    return (_SQLITE_JSON_INTEGER if connection.vendor == "sqlite" else _POSTGRESQL_JSON_INTEGER).format(column, key)


def table_sql(connection: BaseDatabaseWrapper, model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column_sql(connection: BaseDatabaseWrapper, model: type[Model], name: str, *, alias: str = "") -> str:
    """A concrete column, qualified by its table (or by `alias`, for a table joined twice)."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or not field.concrete:
        raise ValueError(f"{model.__name__}.{name} is not a column")
    qualifier = connection.ops.quote_name(alias) if alias else table_sql(connection, model)
    return f"{qualifier}.{connection.ops.quote_name(field.column)}"


def placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


class SelectedModel(Generic[M]):
    """A model's concrete columns in a hand-written SELECT (all of them but `defer`), and the instance
    built back from its slice of a row: values converted as the ORM converts them (JSON decoded, and
    SQLite's text datetimes and integer booleans made Python's), deferred fields left to load on use."""

    def __init__(self, model: type[M], *, defer: Collection[str] = ()) -> None:
        self.model = model
        self.fields: list[Field] = [field for field in model._meta.concrete_fields if field.name not in defer]
        if len(self.fields) + len(defer) != len(model._meta.concrete_fields):
            raise ValueError(f"Not all of {sorted(defer)} are columns of {model.__name__}")
        self.attnames = [field.attname for field in self.fields]
        self._converters_by_connection: weakref.WeakKeyDictionary[
            BaseDatabaseWrapper, list[tuple[int, Callable[[Any], Any]]]
        ] = weakref.WeakKeyDictionary()

    def __len__(self) -> int:
        return len(self.fields)

    def columns_sql(self, connection: BaseDatabaseWrapper, *, alias: str = "") -> str:
        return ", ".join(column_sql(connection, self.model, field.name, alias=alias) for field in self.fields)

    def build(self, connection: BaseDatabaseWrapper, values: Sequence[Any]) -> M:
        converted = list(values)
        for index, convert in self._converters(connection):
            converted[index] = convert(converted[index])
        return self.model.from_db(connection.alias, self.attnames, converted)

    def _converters(self, connection: BaseDatabaseWrapper) -> list[tuple[int, Callable[[Any], Any]]]:
        # Kept per connection (each thread has its own, and the backend's converters are its bound
        # methods); only fields with a conversion are listed.
        wrapper = connections[connection.alias]  # this thread's own, not the `connection` proxy
        known = self._converters_by_connection.get(wrapper)
        if known is None:
            known = self._converters_by_connection[wrapper] = self._converters_of(wrapper)
        return known

    def _converters_of(self, connection: BaseDatabaseWrapper) -> list[tuple[int, Callable[[Any], Any]]]:
        found = []
        for index, field in enumerate(self.fields):
            expression = field.get_col(self.model._meta.db_table)
            converters = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
            if converters:
                found.append((index, _chain(converters, expression, connection)))
        return found


def split_row(values: Sequence[Any], selected: Sequence[SelectedModel]) -> list[Sequence[Any]]:
    """The slices of a row's `values` that belong to each of the `selected` models, in order."""
    parts, offset = [], 0
    for model in selected:
        parts.append(values[offset : offset + len(model)])
        offset += len(model)
    if offset != len(values):
        raise ValueError(f"The row has {len(values)} values, the models {offset} columns")
    return parts


def _chain(
    converters: list[Callable[..., Any]], expression: Any, connection: BaseDatabaseWrapper
) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        for converter in converters:
            value = converter(value, expression, connection)
        return value

    return convert
