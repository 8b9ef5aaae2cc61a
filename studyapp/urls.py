from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("study/", views.study, name="study"),
    path("card/<int:card_id>/reveal/", views.reveal, name="reveal"),
    path("card/<int:card_id>/answer/", views.answer, name="answer"),
    path("card/<int:card_id>/grade/", views.grade, name="grade"),
    path("card/<int:card_id>/suspend/", views.suspend, name="suspend"),
    path("card/<int:card_id>/bury/", views.bury, name="bury"),
    path("undo/", views.undo, name="undo"),
    path("progress/", views.progress, name="progress"),
    path("progress/reviews.csv", views.reviews_csv, name="reviews_csv"),
    path("progress/data.json", views.data_json, name="data_json"),
    path("decks/anki.apkg", views.anki_bank, name="anki_bank"),
    path("decks/<slug:deck>/anki.apkg", views.anki_deck, name="anki_deck"),
    path("settings/", views.settings_page, name="settings"),
    path("sources/", views.source_list, name="sources"),
    path("sources/<slug:slug>/", views.source_detail, name="source"),
    path("signup/", views.signup, name="signup"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
