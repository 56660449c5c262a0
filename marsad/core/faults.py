"""Fault injection for the crash tests: ``point(name)`` kills the process with SIGKILL the n-th time
it passes the named point, when the environment variable MARSAD_FAULTS says so
(``MARSAD_FAULTS="submission.before_commit:2"``). Without that variable it does nothing; it is never
set in production. The crash-resume tests use it to stop the platform at exact, logged places."""

import logging
import os
import signal

logger = logging.getLogger("marsad.faults")
_passes: dict[str, int] = {}


def point(name: str) -> None:
    spec = os.environ.get("MARSAD_FAULTS")
    if not spec:
        return
    for item in spec.split(","):
        target, _, nth = item.strip().partition(":")
        if target != name:
            continue
        _passes[name] = _passes.get(name, 0) + 1
        if _passes[name] == int(nth or 1):
            logger.warning("fault injected: %s (pass %s), SIGKILL", name, _passes[name])
            logging.shutdown()
            os.kill(os.getpid(), signal.SIGKILL)
