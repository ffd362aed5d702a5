"""SQL the ORM does not write for us.

`epoch_seconds_sql` reads a timestamp column as whole seconds since 1970 (UTC), computed by the
database: hot reads such as availability's busy periods skip decoding every row into a Python
datetime, which costs about ten times what fetching the row does.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

# PostgreSQL: extract() gives a numeric with the fraction; floor it, as int(moment.timestamp()) does
# for moments after 1970.
_POSTGRESQL_EPOCH = "FLOOR(EXTRACT(EPOCH FROM {}))::bigint"
# SQLite keeps UTC datetimes as ISO text; strftime('%s') drops the fraction. The percent sign is
# doubled for the driver's parameter style.
_SQLITE_EPOCH = "CAST(strftime('%%s', {}) AS INTEGER)"


def epoch_seconds_sql(connection: BaseDatabaseWrapper, column: str) -> str:
    """SQL for a column's whole epoch seconds, for hand-written queries on a hot path (where the ORM's
    query building costs more than running the query)."""
    return (_SQLITE_EPOCH if connection.vendor == "sqlite" else _POSTGRESQL_EPOCH).format(column)
