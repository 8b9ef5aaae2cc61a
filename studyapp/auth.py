"""Loading the learner of a request: with the session (studyapp.sessions) when it can be, and
always checked by Django's own django.contrib.auth.get_user."""

from contextvars import ContextVar

from django.contrib import auth
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.utils.functional import SimpleLazyObject

# The session of the request whose user is being loaded, while Django's get_user runs.
_session = ContextVar("studyapp_auth_session", default=None)


class StudyBackend(ModelBackend):
    """Django's own, but the learner's settings come with the user (every study page needs
    them), and a user already loaded with the session is not queried again."""

    def get_user(self, user_id):
        session = _session.get()
        user = session.user_for(user_id) if hasattr(session, "user_for") else None
        if user is None:
            users = get_user_model()._default_manager.select_related("study_settings")
            user = users.filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None


def get_user(request):
    """Django's get_user (which checks the session's backend and the password hash), with the
    request's session at hand for StudyBackend."""
    token = _session.set(request.session)
    try:
        return auth.get_user(request)
    finally:
        _session.reset(token)


class SessionUserMiddleware(AuthenticationMiddleware):
    """Django's AuthenticationMiddleware, loading request.user through get_user above."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: get_user(request))
