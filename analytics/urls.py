from django.urls import path

from analytics import views

urlpatterns = [
    path("live/", views.live, name="live"),
    path("p/<slug:slug>/experiments/", views.experiment_list, name="experiment-list"),
    path(
        "p/<slug:slug>/experiments/<slug:key>/",
        views.experiment_detail,
        name="experiment-detail",
    ),
]
