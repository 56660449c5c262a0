from django.urls import path

from . import views

app_name = "registry"
urlpatterns = [
    path("projets/", views.project_list, name="project-list"),
    path("projets/nouveau/", views.project_create, name="project-create"),
    path("projets/<str:public_id>/", views.project_detail, name="project"),
    path("projets/<str:public_id>/modifier/", views.project_edit, name="project-edit"),
    path("projets/<str:public_id>/publication/", views.project_publish, name="project-publish"),
    path("projets/<str:public_id>/retrait/", views.project_withdraw, name="project-withdraw"),
    path("conventions/", views.agreement_list, name="agreement-list"),
    path("conventions/<str:reference>/", views.agreement_detail, name="agreement"),
    path("organisations/", views.organisation_list, name="organisation-list"),
    path("organisations/<str:code>/", views.organisation_detail, name="organisation"),
]
