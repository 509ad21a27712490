"""Design pages of the eCRF engine; included by registry/urls.py as path("", include("forms.urls"))."""

from django.urls import path

from forms import views

app_name = "crf"

urlpatterns = [
    path("projects/<slug:code>/design/dictionary/", views.dictionary_page, name="dictionary"),
    path("projects/<slug:code>/design/dictionary/download/", views.dictionary_download, name="dictionary_download"),
]
