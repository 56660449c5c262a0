"""marsad serve: the platform over HTTP (the demo, the benches and the connector's tests use it)."""

from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand

from marsad.core.server import NoDelayWSGIServer


class Command(RunserverCommand):
    help = (
        "Sert la plateforme en HTTP (serveur WSGI à fils de Django, sans l'algorithme de Nagle) : "
        "`marsad serve 127.0.0.1:8000 --noreload`. Mêmes options que runserver."
    )
    server_cls = NoDelayWSGIServer
