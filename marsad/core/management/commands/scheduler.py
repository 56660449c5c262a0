"""marsad scheduler: enqueue periodic tasks on their timetable (one leader among any number)."""

import signal
import time
from datetime import timedelta

from django.core.management.base import BaseCommand

from marsad.core import scheduler


class Command(BaseCommand):
    help = (
        "Boucle de planification : met en file les tâches périodiques (signature de la tête du registre, "
        "alertes…) exécutées par `marsad db_worker`. Plusieurs instances peuvent tourner : un bail en base "
        "en élit une seule."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tick", type=float, default=5.0, help="Secondes entre deux passages.")
        parser.add_argument("--once", action="store_true", help="Un seul passage, puis sortie.")

    def handle(self, *args, **options):
        holder = scheduler.holder_name()
        ttl = timedelta(seconds=max(30.0, options["tick"] * 4))
        stop = {"now": False}

        def request_stop(*_):
            stop["now"] = True

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        names = ", ".join(job.name for job in scheduler.jobs()) or "aucune"
        self.stdout.write(f"Planificateur {holder} : tâches {names}.")
        try:
            while not stop["now"]:
                if scheduler.lease_acquire(holder, ttl=ttl):
                    for name in scheduler.run_due():
                        self.stdout.write(f"{name} mise en file.")
                if options["once"]:
                    break
                time.sleep(options["tick"])
        finally:
            scheduler.lease_release(holder)
