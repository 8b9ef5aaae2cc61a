"""Small fixes to Django's own responses, for people and for htmx."""

from django.conf import settings
from django.http import HttpResponseNotAllowed
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect


def explain_not_allowed(get_response):
    """require_GET and require_POST answer 405 with only an Allow header; a person (or a
    script's log) should read which method the address takes."""

    def middleware(request):
        response = get_response(request)
        if isinstance(response, HttpResponseNotAllowed) and not response.content:
            allowed = response.get("Allow", "")
            response.content = f"This address takes {allowed}, not {request.method}.".encode()
            response["Content-Type"] = "text/plain; charset=utf-8"
        return response

    return middleware


def htmx_login_redirect(get_response):
    """A fragment request whose session has expired is redirected to the login page; htmx
    would swap that whole page into the card. Tell htmx to go there instead (HX-Redirect)."""
    login_path = resolve_url(settings.LOGIN_URL)

    def middleware(request):
        response = get_response(request)
        if (
            request.headers.get("HX-Request") == "true"
            and response.status_code == 302
            and response.get("Location", "").startswith(login_path)
        ):
            return HttpResponseClientRedirect(response["Location"])
        return response

    return middleware
