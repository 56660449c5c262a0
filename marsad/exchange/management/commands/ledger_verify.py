"""marsad ledger_verify: walk the hash chain and report the first entry that does not hold."""

import hashlib

from django.core.management.base import BaseCommand, CommandError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from marsad.exchange import signing
from marsad.exchange.models import LedgerCheckpoint, PlatformKey, Submission
from marsad.registry import ledger
from marsad.registry.choices import LedgerKind
from marsad.registry.models import LedgerEntry


def receipts_check(entries: list[LedgerEntry]) -> list[ledger.Finding]:
    """A receipt entry must seal the receipt stored with its submission."""
    stored = dict(
        Submission.objects.filter(public_id__in=[e.subject for e in entries]).values_list(
            "public_id", "receipt"
        )
    )
    found = []
    for entry in entries:
        receipt = stored.get(entry.subject)
        if receipt is None:
            found.append(ledger.Finding(entry.seq, f"l'accusé de réception {entry.subject} n'existe plus"))
        elif hashlib.sha256(signing.canonical_bytes(receipt)).hexdigest() != entry.digest:
            found.append(ledger.Finding(entry.seq, f"l'accusé de réception {entry.subject} a été modifié"))
    return found


def checkpoints_check() -> list[ledger.Finding]:
    """Every signed checkpoint must carry a valid platform signature and name an entry of the chain."""
    keys = dict(PlatformKey.objects.values_list("key_id", "public_key"))
    hashes = {}
    checkpoints = list(LedgerCheckpoint.objects.order_by("seq"))
    if checkpoints:
        hashes = dict(
            LedgerEntry.objects.filter(seq__in=[c.seq for c in checkpoints]).values_list("seq", "hash")
        )
    found = []
    for checkpoint in checkpoints:
        document = {
            "schema": "marsad.checkpoint/1",
            "seq": checkpoint.seq,
            "hash": checkpoint.hash,
            "signature": {"key_id": checkpoint.key_id, "algorithm": "ed25519", "value": checkpoint.signature},
        }
        if not signing.verify_document(document, keys):
            found.append(ledger.Finding(checkpoint.seq, "point de contrôle signé invalide"))
        elif checkpoint.seq and hashes.get(checkpoint.seq) != checkpoint.hash:
            found.append(
                ledger.Finding(checkpoint.seq, "l'entrée ne correspond plus au point de contrôle signé")
            )
    return found


class Command(BaseCommand):
    help = (
        "Vérifie le registre chaîné : continuité des numéros, chaînage des empreintes, contenu des versions "
        "et des accusés de réception, tête du registre et points de contrôle signés. Signale la première "
        "entrée fautive (modifiée, supprimée ou déplacée) et sort avec le code 1 le cas échéant."
    )

    def handle(self, *args, **options):
        total = LedgerEntry.objects.count()
        with Progress(
            TextColumn("[bold]Vérification du registre"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(),
            disable=options["verbosity"] == 0 or total < 5000,
        ) as progress:  # fmt: skip
            task = progress.add_task("ledger", total=total)
            report = ledger.verify(
                checks={LedgerKind.RECEIPT: receipts_check}, progress=lambda n: progress.advance(task, n)
            )
        report.findings.extend(checkpoints_check())
        if report.ok:
            self.stdout.write(f"Registre intègre : {report.checked} entrées, tête n° {report.head_seq}.")
            return
        first = report.first
        for finding in sorted(report.findings, key=lambda f: f.seq)[:20]:
            self.stderr.write(str(finding))
        raise CommandError(
            f"Registre altéré : première entrée fautive n° {first.seq} ({first.reason}) ; "
            f"{len(report.findings)} anomalie(s) sur {report.checked} entrées."
        )
