from django.urls import path

from . import views

# Not namespaced: the settings name them (LOGIN_URL = "login").
urlpatterns = [
    path("connexion/", views.LoginView.as_view(), name="login"),
    path("deconnexion/", views.LogoutView.as_view(), name="logout"),
]
