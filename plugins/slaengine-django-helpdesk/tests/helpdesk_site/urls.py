"""The test site's URLs: the helpdesk, and a log-in link for the headless browser."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model, login
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import include, path


def browser_login(request: HttpRequest, token: str) -> HttpResponse:
    """Log in the user a signed token names and go on (the browser cannot fill forms)."""
    data = signing.loads(token, max_age=300)
    user = get_user_model().objects.get(pk=data["user"])
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponseRedirect(data["next"])


urlpatterns = [
    path("browser-login/<str:token>/", browser_login),
    path("admin/", admin.site.urls),  # the ticket page links to the submitter's admin page
    path("", include("helpdesk.urls", namespace="helpdesk")),
]
