from django.urls import path

from . import views

app_name = "alerts"
urlpatterns = [
    path("alertes/", views.alert_list, name="list"),
    path("alertes/<int:alert_id>/prise-en-compte/", views.alert_acknowledge, name="acknowledge"),
]
