"""After-commit hooks: the registry's one sanctioned inversion (DESIGN §4).

Apps above the registry (the indicator engine, the exchange's feed and webhooks) register a
callable in their ``AppConfig.ready()``; the registry's services call every registered hook with the
versions a transaction wrote, once it has committed. No Django signals.
"""

from collections.abc import Callable, Sequence

from django.db import transaction

VersionsHook = Callable[[Sequence], None]
_hooks: list[VersionsHook] = []


def register_after_commit(hook: VersionsHook) -> VersionsHook:
    if hook not in _hooks:
        _hooks.append(hook)
    return hook


def unregister_after_commit(hook: VersionsHook) -> None:
    if hook in _hooks:
        _hooks.remove(hook)


def registered() -> tuple[VersionsHook, ...]:
    return tuple(_hooks)


def schedule(versions: Sequence) -> None:
    """Call every hook with ``versions`` after the current transaction commits."""
    if not versions or not _hooks:
        return
    frozen = tuple(versions)

    def run() -> None:
        # One transaction for what the hooks write (tasks enqueued in the database): on SQLite each
        # would otherwise wait its turn for the write lock, behind any other submission's batch.
        with transaction.atomic():
            for hook in tuple(_hooks):
                hook(frozen)

    transaction.on_commit(run)
