import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
application = get_wsgi_application()

# A 1,000-record submission builds some 12,000 model instances; with the default threshold (700
# allocations) the cyclic garbage collector runs hundreds of times per batch and took a fifth to a
# third of its time (bench/exchange.py). The code and settings loaded so far are frozen out of the
# collector's scans, and young objects are collected less often.
gc.freeze()
gc.set_threshold(50_000, 20, 100)
