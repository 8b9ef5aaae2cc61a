"""Hand-written SQL run through sql_rows.execute: prepared once per connection on PostgreSQL,
plain elsewhere, with the same rows either way."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from studyapp import sql_rows

pytestmark = pytest.mark.django_db

SQL = "SELECT %(a)s + 1, %(b)s, %(a)s * 2"


def run(params):
    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        sql_rows.execute(cursor, SQL, params)
        row = cursor.fetchone()
    return tuple(row), [q["sql"].split()[0] for q in queries]


def test_the_rows_are_those_of_a_plain_query():
    with connection.cursor() as cursor:
        cursor.execute(SQL, {"a": 2, "b": "x"})
        plain = tuple(cursor.fetchone())
    assert run({"a": 2, "b": "x"})[0] == plain == (3, "x", 4)
    assert run({"b": "y", "a": 5})[0] == (6, "y", 10)  # parameters by name, in any order


@pytest.mark.skipif(connection.vendor != "postgresql", reason="only PostgreSQL prepares")
@pytest.mark.django_db(transaction=True)  # so the test may close its connection
def test_postgresql_prepares_once_per_connection_and_keeps_it_past_a_rollback():
    connection.close()  # a fresh connection, which has prepared nothing
    assert run({"a": 1, "b": "x"}) == ((2, "x", 2), ["PREPARE", "EXECUTE"])
    assert run({"a": 2, "b": "y"}) == ((3, "y", 4), ["EXECUTE"])
    with transaction.atomic():
        run({"a": 3, "b": "z"})
        transaction.set_rollback(True)
    assert run({"a": 4, "b": "w"}) == ((5, "w", 8), ["EXECUTE"])
    connection.close()  # a reconnect prepares again
    assert run({"a": 1, "b": "x"})[1] == ["PREPARE", "EXECUTE"]
