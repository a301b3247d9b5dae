from django.urls import path

from consumption import views

app_name = "consumption"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("export.csv", views.csv_export, name="csv"),
]
