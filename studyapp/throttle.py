"""Login throttling: django-axes refuses logins from a locked-out client (see settings.AXES_*)."""

from axes.backends import AxesStandaloneBackend


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' standalone backend (it only checks the lockout; the next backend logs in).

    Axes throttles by the client's address, so it insists on the request and raises an error
    when authenticate() is called without one. Every login over HTTP (the login page, the
    admin's) passes the request; calls without one come from code on the server (the test
    client's login(), the shell), where there is no client to throttle, so they are let through
    to the next backend instead of failing.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
