"""Hand-written SQL, run prepared on PostgreSQL, and model instances from its rows, as a
QuerySet would make them.

The study loop's hottest queries (studyapp.snapshot_query, the session in studyapp.sessions)
are built once as text: assembling them through the ORM on every request cost more Python
than the database spent answering them. Their rows become instances here, through Django's
own converters."""

import functools
import re
import weakref
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Model
from django.db.models.expressions import Col


@dataclass(frozen=True)
class Columns:
    """One model's columns in a select list, from position `start`, and how to turn them back
    into an instance. Fields in `skipped` are left out and stay deferred on the instance."""

    model: type[Model]
    alias: str
    cols: tuple[Col, ...]
    start: int

    @classmethod
    def of(
        cls, model: type[Model], alias: str, start: int, skipped: frozenset[str] = frozenset()
    ) -> "Columns":
        fields = [f for f in model._meta.concrete_fields if f.name not in skipped]
        return cls(model, alias, tuple(f.get_col(alias) for f in fields), start)

    @property
    def end(self) -> int:
        return self.start + len(self.cols)

    def sql(self) -> str:
        q = connection.ops.quote_name
        return ", ".join(f"{self.alias}.{q(col.target.column)}" for col in self.cols)

    @functools.cached_property
    def converters(self) -> dict[int, tuple[list, Col]]:
        """Django's converters of each column that has any, by position."""
        found = {}
        for i, col in enumerate(self.cols):
            funcs = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if funcs:
                found[i] = (funcs, col)
        return found

    @functools.cached_property
    def names(self) -> list[str]:
        return [col.target.attname for col in self.cols]

    def _converted(self, i: int, value):
        funcs, col = self.converters.get(i, ((), None))
        for func in funcs:
            value = func(value, col, connection)
        return value

    def value(self, row: tuple, attname: str):
        """One field's value, converted."""
        i = self.names.index(attname)
        return self._converted(i, row[self.start + i])

    def values(self, row: tuple) -> dict[str, Any]:
        """{attname: value} of the model's columns in the row, converted."""
        values = list(row[self.start : self.end])
        for i in self.converters:
            values[i] = self._converted(i, values[i])
        return dict(zip(self.names, values, strict=True))

    def instance(self, row: tuple) -> Model | None:
        values = list(row[self.start : self.end])
        if values[0] is None:  # the primary key: no row was joined
            return None
        for i in self.converters:
            values[i] = self._converted(i, values[i])
        return self.model.from_db(connection.alias, self.names, values)


def adapt(params: dict) -> dict:
    """Datetimes as the backend stores them (text in UTC on SQLite)."""
    to_db = connection.ops.adapt_datetimefield_value
    return {k: to_db(v) if hasattr(v, "tzinfo") else v for k, v in params.items()}


# PostgreSQL spent longer planning these queries than running them (the session's three-table
# join about as long as the queue's), so each connection prepares each text once (PREPARE) and
# then only executes it. Keyed by the driver's connection, which goes (with its prepared
# statements) when Django reconnects. A PREPARE outlives a rolled-back transaction.
_prepared: "weakref.WeakKeyDictionary[Any, set[str]]" = weakref.WeakKeyDictionary()
_PARAM = re.compile(r"%\((\w+)\)s")


def execute(cursor, sql: str, params: dict[str, Any]) -> None:
    """Run SQL built once, with %(name)s parameters; prepared per connection on PostgreSQL."""
    if connection.vendor != "postgresql":
        cursor.execute(sql, params)
        return
    names = list(dict.fromkeys(_PARAM.findall(sql)))
    statement = statement_name(sql)
    done = _prepared.setdefault(connection.connection, set())
    if statement not in done:
        numbered = _PARAM.sub(lambda m: f"${names.index(m[1]) + 1}", sql)
        cursor.execute(f"PREPARE {statement} AS {numbered}")
        done.add(statement)
    cursor.execute(
        f"EXECUTE {statement} ({', '.join(['%s'] * len(names))})", [params[n] for n in names]
    )


def statement_name(sql: str) -> str:
    """The name the text is prepared under on PostgreSQL."""
    return f"studyapp_{abs(hash(sql)):x}"
