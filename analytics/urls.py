from django.urls import path

from analytics import views

urlpatterns = [
    path("live/", views.live, name="live"),
]
