"""The session engine (SESSION_ENGINE): Django's database sessions, whose row names the
logged-in learner. Loading the session also loads that learner and their study settings, in
one query; studyapp.auth hands that user to Django's authentication, which checks it as it
checks any other (the session's backend, the password hash). Every page saves a query, and
the query's text is built once (studyapp.sql_rows)."""

import functools

from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from .sql_rows import Columns, adapt, execute


class SessionStore(DBStore):
    user = None  # the learner whose id the loaded session row holds, loaded with it

    @classmethod
    def get_model_class(cls):
        from .models import LearnerSession

        return LearnerSession

    def _get_session_from_db(self):
        # As Django's: the unexpired row with this key, or None and the key forgotten.
        sql, session, user, settings = _select(connection.vendor)
        with connection.cursor() as cursor:
            execute(cursor, sql, adapt({"key": self.session_key, "now": timezone.now()}))
            row = cursor.fetchone()
        if row is None:
            self._session_key = self.user = None
            return None
        self.user = user.instance(row)
        if self.user is not None:  # the settings, or their absence, as select_related leaves them
            found = settings.instance(row)
            get_user_model().study_settings.related.set_cached_value(self.user, found)
            if found is not None:
                type(found).user.field.set_cached_value(found, self.user)
        return session.instance(row)

    def create_model_instance(self, data):
        row = super().create_model_instance(data)
        row.user_id = _user_id(data.get(SESSION_KEY))
        return row

    def user_for(self, user_id):
        """The user loaded with the session if it is the one with this id, else None."""
        user = self.user
        return user if user is not None and user.pk == _user_id(user_id) else None


@functools.cache
def _select(vendor: str) -> tuple[str, Columns, Columns, Columns]:
    from .models import LearnerSession, LearnerSettings

    q = connection.ops.quote_name
    user_model = get_user_model()
    session = Columns.of(LearnerSession, "s", 0)
    user = Columns.of(user_model, "u", session.end)
    settings = Columns.of(LearnerSettings, "ls", user.end)
    user_pk = q(user_model._meta.pk.column)
    sql = (
        f"SELECT {session.sql()}, {user.sql()}, {settings.sql()} "
        f"FROM {q(LearnerSession._meta.db_table)} s "
        f"LEFT JOIN {q(user_model._meta.db_table)} u ON u.{user_pk} = s.user_id "
        f"LEFT JOIN {q(LearnerSettings._meta.db_table)} ls "
        f"ON ls.{q(LearnerSettings.user.field.column)} = u.{user_pk} "
        "WHERE s.session_key = %(key)s AND s.expire_date > %(now)s"
    )
    return sql, session, user, settings


def _user_id(value):
    if value is None:
        return None
    try:
        return get_user_model()._meta.pk.to_python(value)
    except ValidationError:
        return None
