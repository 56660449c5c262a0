from django.urls import path

from . import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("territoires/", views.territory, name="territory-root"),
    path("territoires/<str:code>/", views.territory, name="territory"),
    path("carte/", views.map_page, name="map"),
]
