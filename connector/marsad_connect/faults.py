"""Fault injection for crash tests: ``point(name)`` kills the process with SIGKILL the n-th time it
passes the named point when MARSAD_CONNECT_FAULTS says so (``before_send:2,after_response:1``).
Without that variable it does nothing. Points: ``before_send`` (a batch is stored, not yet sent),
``after_response`` (the platform has answered and committed, the receipt is not yet stored),
``retry_wait`` (an attempt failed, before waiting to retry)."""

import logging
import os
import signal
import sys

log = logging.getLogger("marsad_connect.faults")
_passes: dict[str, int] = {}


def point(name: str) -> None:
    spec = os.environ.get("MARSAD_CONNECT_FAULTS")
    if not spec:
        return
    for item in spec.split(","):
        target, _, nth = item.strip().partition(":")
        if target != name:
            continue
        _passes[name] = _passes.get(name, 0) + 1
        if _passes[name] == int(nth or 1):
            log.warning("panne provoquée : %s (passage %s), SIGKILL", name, _passes[name])
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGKILL)
