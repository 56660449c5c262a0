from django.urls import path

from . import views

app_name = "exchange"
urlpatterns = [
    path("echange/televersement/", views.upload, name="upload"),
    path("echange/modele.xlsx", views.template_file, {"kind": "xlsx"}, name="template-xlsx"),
    path("echange/modele.csv", views.template_file, {"kind": "csv"}, name="template-csv"),
    path("echange/soumissions/<str:public_id>/", views.submission, name="submission"),
    path("echange/organisations/<str:code>/sante/", views.organisation_health, name="organisation-health"),
]
