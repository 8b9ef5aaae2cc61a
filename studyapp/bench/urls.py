"""The benchmark's URLconf: the app's own, plus a bare view returning a constant, the ceiling the
study loop is compared with over HTTP. Selected only by studyapp.bench.settings, which only the
benchmark uses; the app's URLconf (studyapp.urls) has no such view."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.urls import include, path

CONSTANT = b"ok\n"


@login_not_required
def constant(request):
    """Through every middleware, no template and no query."""
    return HttpResponse(CONSTANT, content_type="text/plain")


urlpatterns = [
    path("bench/constant/", constant, name="bench_constant"),
    path("", include("studyapp.urls")),
]
