"""Say why a request was refused when Django's own response has no body."""

from django.http import HttpResponseNotAllowed


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
