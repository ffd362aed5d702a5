"""Database expressions the ORM lacks.

`EpochSeconds` reads a timestamp column as whole seconds since 1970 (UTC), computed by the database:
hot reads such as availability's busy periods skip decoding every row into a Python datetime, which
costs about ten times what fetching the row does.
"""

from __future__ import annotations

from typing import Any

from django.db.models import BigIntegerField, Func


class EpochSeconds(Func):
    """Whole seconds since the epoch, rounded down like `int(moment.timestamp())` for later moments."""

    output_field = BigIntegerField()
    # PostgreSQL: extract() gives a numeric with the fraction; floor it, as Python's int() does for
    # positive times.
    template = "FLOOR(EXTRACT(EPOCH FROM %(expressions)s))::bigint"
    arity = 1

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        # SQLite keeps UTC datetimes as ISO text; strftime('%s') drops the fraction. The percent sign
        # is doubled twice: once for this template, once for the driver's parameter style.
        return super().as_sql(
            compiler, connection, template="CAST(strftime('%%%%s', %(expressions)s) AS INTEGER)", **extra_context
        )
