"""The site's URLs plus the design pages, until registry/urls.py includes forms.urls itself."""

from django.urls import include, path

from registry.urls import urlpatterns as site_patterns

urlpatterns = [*site_patterns]
if not any(getattr(p, "namespace", None) == "crf" for p in site_patterns):
    urlpatterns.append(path("", include("forms.urls")))
