"""One synchronisation run, and the loop that repeats it.

A run: resend the pending batches (same key, same bytes) → read the source since the watermark → map →
validate → skip records identical to what the platform already accepted → batch → persist the batches
→ send → check and store each receipt (the watermark moves with the last one). ``dry_run`` maps,
validates and sends with ``dry_run: true`` (the platform validates and writes nothing); the state is
only read, and the run leaves a JSON report. See ``state`` for why a crash at any point is harmless.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import rfc8785

from . import client as http
from . import faults
from .client import PlatformClient, describe, encode_body
from .config import Config, ConfigError
from .mapping import Mapped
from .signing import RECEIPT_SCHEMA, KeyFileError, ReceiptError, body_digest, load_private_key, verify_receipt
from .sources import SourceError, build_source, watermark_value
from .state import Batch, LocalProblem, NewBatch, State, StateError, fsync_directory, now
from .validate import validate

log = logging.getLogger("marsad_connect")

EXIT_OK = 0
EXIT_CONFIG = 1
EXIT_REJECTED = 2
EXIT_UNREACHABLE = 3
EXIT_AUTH = 4
EXIT_REFUSED = 5
EXIT_SOURCE = 6
# When several things went wrong, the code names the one that needs attention first.
PRECEDENCE = (EXIT_CONFIG, EXIT_AUTH, EXIT_REFUSED, EXIT_UNREACHABLE, EXIT_SOURCE, EXIT_REJECTED, EXIT_OK)
EXIT_CODES_HELP = """\
Codes de sortie :
  0  tout a été envoyé et accepté (ou rien n'était à envoyer)
  1  erreur d'usage ou de configuration (fichier, mapping, clé, jeton absent, état verrouillé, adresse)
  2  des enregistrements ont été rejetés, par la validation locale ou par la plateforme
  3  plateforme injoignable après toutes les tentatives (les lots restent en attente)
  4  authentification ou signature refusée (401/403), ou reçu dont la signature ne se vérifie pas
  5  un lot refusé en bloc par la plateforme (400/413/422)
  6  source illisible (base de données, dossier ou point d'accès JSON)"""
OUTCOME_EXIT = {
    http.AUTH: EXIT_AUTH,
    http.REFUSED: EXIT_REFUSED,
    http.UNEXPECTED: EXIT_CONFIG,
    http.UNREACHABLE: EXIT_UNREACHABLE,
}
# A withdrawal refused only because the platform never had the project, or has withdrawn it already.
NOTHING_TO_WITHDRAW = {"unknown_project", "withdrawn_project"}
COUNT_NAMES = ("received", "created", "updated", "unchanged", "withdrawn", "rejected")


def _problem_key(mapped: Mapped, origin: str) -> str:
    """Where a record's local problems are kept: its project when known, else its place in the source."""
    operator, reference = mapped.record.get("operator"), mapped.record.get("operator_ref")
    if reference:
        return f"{operator or '?'}/{reference}"
    return f"source:{origin}"


def record_hash(record: dict[str, Any]) -> str:
    """The record's identity for "already sent": SHA-256 of its RFC 8785 canonical JSON."""
    return hashlib.sha256(rfc8785.dumps(record)).hexdigest()


def later(current: Any, candidate: Any) -> Any:
    """The greater of two watermarks (as text when their types differ)."""
    if current is None:
        return candidate
    if candidate is None:
        return current
    try:
        return candidate if candidate > current else current
    except TypeError:
        return candidate if str(candidate) > str(current) else current


@dataclass
class RunReport:
    dry_run: bool = False
    started_at: str = field(default_factory=now)
    watermark_before: Any = None
    watermark_after: Any = None
    rows: int = 0
    records: int = 0
    skipped: int = 0
    local_invalid: int = 0
    batches: int = 0
    resent: int = 0
    counts: Counter = field(default_factory=Counter)
    submissions: list[str] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    local_problems: list[dict[str, Any]] = field(default_factory=list)
    receipts: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    exit_code: int = EXIT_OK
    report_path: str | None = None

    def fail(self, code: int, message: str) -> None:
        self.errors.append(message)
        self.exit_code = min(self.exit_code, code, key=PRECEDENCE.index)
        log.error(message)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "started_at": self.started_at,
            "watermark_before": self.watermark_before,
            "watermark_after": self.watermark_after,
            "rows": self.rows,
            "records": self.records,
            "skipped_unchanged": self.skipped,
            "local_invalid": self.local_invalid,
            "batches": self.batches,
            "resent": self.resent,
            "counts": {name: self.counts.get(name, 0) for name in COUNT_NAMES},
            "submissions": self.submissions,
            "rejected": self.rejected,
            "local_problems": self.local_problems,
            "receipts": self.receipts,
            "errors": self.errors,
            "exit_code": self.exit_code,
        }


@dataclass
class Plan:
    batches: list[NewBatch]
    problems: list[LocalProblem]
    resolved: list[str]
    watermark: Any


class Runner:
    def __init__(
        self,
        config: Config,
        *,
        stop: threading.Event | None = None,
        client: PlatformClient | None = None,
        today: date | None = None,
    ):
        self.config = config
        self.stop = stop or threading.Event()
        self.client = client
        self.today = today
        self.keys: dict[str, Any] | None = None

    # --- The run ---------------------------------------------------------------------------------

    def run(self, *, dry_run: bool = False) -> RunReport:
        report = RunReport(dry_run=dry_run)
        try:
            state = State.open(self.config.state, readonly=dry_run)
        except StateError as error:
            report.fail(EXIT_CONFIG, str(error))
            return report
        try:
            if not dry_run:
                state.lock()
            client = self.client or self._client()
            try:
                self._run(state, client, report)
            finally:
                if self.client is None:
                    client.close()
        except (ConfigError, KeyFileError, StateError) as error:
            report.fail(EXIT_CONFIG, str(error))
        finally:
            state.close()
        if dry_run:
            self._write_report(report)
        self._summary(report)
        return report

    def _client(self) -> PlatformClient:
        return PlatformClient(
            self.config.url,
            self.config.require_token(),
            self.config.key_id,
            load_private_key(self.config.private_key),
            timeout=self.config.timeout,
            retry=self.config.retry,
            stop=self.stop,
        )

    def _run(self, state: State, client: PlatformClient, report: RunReport) -> None:
        dry_run = report.dry_run
        self._load_keys(state, client, save=not dry_run)
        report.watermark_before = state.watermark
        if not dry_run:
            pending = state.pending_batches()
            if pending:
                log.info("Reprise : %d lot(s) en attente, renvoyé(s) à l'identique", len(pending))
            for batch in pending:
                if self.stop.is_set() or not self._send(state, client, batch, report):
                    report.watermark_after = state.watermark
                    return
                report.resent += 1
        if self.stop.is_set():
            return
        try:
            plan = self._plan(state, report)
        except SourceError as error:
            report.fail(EXIT_SOURCE, str(error))
            return
        if dry_run:
            self._dry_run(client, plan, report)
            return
        state.plan(
            uuid.uuid4().hex,
            plan.batches,
            problems=plan.problems,
            resolved=plan.resolved,
            watermark=plan.watermark,
            advance=not plan.batches,
        )
        for batch in state.pending_batches():
            if self.stop.is_set() or not self._send(state, client, batch, report):
                break
        report.watermark_after = state.watermark

    def _plan(self, state: State, report: RunReport) -> Plan:
        """Read since the watermark, map, validate, drop what the platform already has, cut batches."""
        mapping = self.config.mapping
        known = mapping.known()
        today = self.today or date.today()  # noqa: DTZ011 - the operator's calendar day
        watermark = start = state.watermark
        source = build_source(self.config.source, self.config.base_dir)
        latest: dict[str, tuple[Mapped, list[dict[str, str]]]] = {}
        try:
            for row in source.rows(watermark):
                report.rows += 1
                mapped = mapping.map_row(row.data, row.origin, row.watermark)
                watermark = later(watermark, watermark_value(mapped.watermark))
                reported = {problem.pointer for problem in mapped.problems}
                problems = mapped.problems + [
                    problem
                    for problem in validate(mapped.record, known, today)
                    if problem.pointer not in reported
                ]
                key = _problem_key(mapped, row.origin)
                latest.pop(key, None)  # the last row read for a project is its current state
                latest[key] = (mapped, [problem.as_dict() for problem in problems])
        finally:
            source.close()

        hashes = state.record_hashes()
        records: list[tuple[dict[str, Any], tuple[str, str, str]]] = []
        problems: list[LocalProblem] = []
        resolved: list[str] = []
        seen = now()
        for key, (mapped, found) in latest.items():
            if found:
                problems.append(LocalProblem(key, mapped.origin, mapped.record, found, seen))
                report.local_problems.append({"key": key, "origin": mapped.origin, "problems": found})
                for problem in found:
                    log.warning(
                        "Problème local %s (%s) : %s %s",
                        key,
                        mapped.origin,
                        problem["pointer"],
                        problem["message"],
                    )
                continue
            resolved.append(key)
            digest = record_hash(mapped.record)
            operator, reference = mapped.key  # type: ignore[misc] - valid records have both
            if hashes.get((operator, reference)) == digest:
                report.skipped += 1
                continue
            records.append((mapped.record, (operator, reference, digest)))
        report.records = len(latest)
        report.local_invalid = len(problems)
        if problems:
            report.fail(
                EXIT_REJECTED, f"{len(problems)} enregistrement(s) écarté(s) par la validation locale"
            )

        size = self.config.batch_size
        batches = []
        for start in range(0, len(records), size):
            chunk = records[start : start + size]
            body = encode_body([record for record, _ in chunk], dry_run=report.dry_run)
            batch_id = uuid.uuid4().hex
            batches.append(
                NewBatch(
                    batch_id=batch_id,
                    idempotency_key=f"mc-{'dry-' if report.dry_run else ''}{batch_id}",
                    body=body,
                    digest=body_digest(body),
                    manifest=[entry for _, entry in chunk],
                )
            )
        log.info(
            "Lecture depuis %s : %d ligne(s), %d projet(s), %d déjà à jour, %d problème(s) local(aux), "
            "%d lot(s)",
            start if start is not None else "le début",
            report.rows,
            report.records,
            report.skipped,
            len(problems),
            len(batches),
        )
        return Plan(batches, problems, resolved, watermark)

    # --- Sending ---------------------------------------------------------------------------------

    def _send(self, state: State, client: PlatformClient, batch: Batch, report: RunReport) -> bool:
        """Send one persisted batch until it has a stored receipt; False stops the run."""
        log.info(
            "Lot %s : %d enregistrement(s), clé %s%s",
            batch.batch_id[:8],
            batch.record_count,
            batch.idempotency_key,
            f", tentative(s) antérieure(s) : {batch.attempts}" if batch.attempts else "",
        )
        faults.point("before_send")
        outcome = client.submit(
            batch.body,
            batch.idempotency_key,
            on_attempt=lambda _: state.record_attempt(batch.batch_id),
            on_error=lambda error: state.record_error(batch.batch_id, error),
        )
        if outcome.kind == http.ACCEPTED:
            faults.point("after_response")
            receipt = outcome.receipt or {}
            try:
                if not receipt.get("submission_id"):
                    raise ReceiptError("reçu sans identifiant de soumission")
                verified_with = self._check_receipt(
                    state, client, receipt, batch.idempotency_key, batch.digest
                )
            except ReceiptError as error:
                state.record_error(batch.batch_id, f"reçu refusé : {error}")
                report.fail(EXIT_AUTH, f"Reçu {receipt.get('submission_id')} refusé : {error}")
                return False
            state.store_receipt(batch, receipt, outcome.raw, verified_with)
            report.batches += 1
            self._account(report, receipt, batch.body, outcome.replay)
            return True
        self._refusal(state, batch, outcome, report)
        return False

    def _refusal(self, state: State, batch: Batch, outcome: http.Outcome, report: RunReport) -> None:
        detail = outcome.error or describe(outcome.problem)
        if outcome.kind == http.AUTH:
            report.fail(
                EXIT_AUTH,
                f"Lot {batch.batch_id[:8]} refusé (authentification) : {detail} ; il reste en attente",
            )
        elif outcome.kind == http.REFUSED:
            dropped = state.fail_batch(batch, outcome.problem)
            report.fail(
                EXIT_REFUSED,
                f"Lot {batch.batch_id[:8]} refusé en bloc : {detail} ; lot mis de côté"
                + (f", {dropped} lot(s) suivant(s) replanifié(s) au prochain passage" if dropped else ""),
            )
        elif outcome.kind == http.UNEXPECTED:
            report.fail(
                EXIT_CONFIG, f"Réponse inattendue de la plateforme ({detail}) : vérifiez platform.url"
            )
        elif outcome.kind == http.UNREACHABLE:
            report.fail(
                EXIT_UNREACHABLE,
                f"Plateforme injoignable après {outcome.attempts} tentative(s) : {detail} ; "
                "le lot reste en attente",
            )
        else:
            log.info("Arrêt demandé : le lot %s reste en attente", batch.batch_id[:8])

    def _dry_run(self, client: PlatformClient, plan: Plan, report: RunReport) -> None:
        for batch in plan.batches:
            if self.stop.is_set():
                return
            outcome = client.submit(batch.body, batch.idempotency_key)
            if outcome.kind != http.ACCEPTED:
                if outcome.kind in OUTCOME_EXIT:
                    detail = outcome.error or describe(outcome.problem)
                    report.fail(
                        OUTCOME_EXIT[outcome.kind], f"Lot d'essai {batch.batch_id[:8]} non traité : {detail}"
                    )
                return
            receipt = outcome.receipt or {}
            try:
                if "signature" in receipt:  # a dry run's answer need not be signed; if it is, it must verify
                    self._check_receipt(None, client, receipt, batch.idempotency_key, batch.digest)
            except ReceiptError as error:
                report.fail(EXIT_AUTH, f"Reçu d'essai refusé : {error}")
                return
            report.batches += 1
            report.receipts.append(receipt)
            self._account(report, receipt, batch.body, outcome.replay)

    # --- Receipts --------------------------------------------------------------------------------

    def _load_keys(self, state: State, client: PlatformClient, *, save: bool) -> None:
        self.keys = state.platform_keys
        if self.config.verify_receipts == "never":
            return
        try:
            keys = client.fetch_keys()
        except Exception as error:
            log.info("Clés publiques de la plateforme non récupérées (%s) ; clés en cache utilisées", error)
            return
        self.keys = keys
        if save:
            state.save_platform_keys(keys)

    def _check_receipt(
        self, state: State | None, client: PlatformClient, receipt: dict[str, Any], key: str, digest: str
    ) -> str | None:
        """The receipt must answer this very request and, when keys are known, carry a valid signature."""
        if receipt.get("idempotency_key") not in (None, key):
            raise ReceiptError(f"le reçu répond à une autre clé ({receipt.get('idempotency_key')})")
        if receipt.get("request_digest") not in (None, digest):
            raise ReceiptError("l'empreinte de la requête ne correspond pas au corps envoyé")
        if receipt.get("schema") not in (None, RECEIPT_SCHEMA):
            log.warning("Schéma de reçu inattendu : %s", receipt.get("schema"))
        mode = self.config.verify_receipts
        if mode == "never":
            return None
        if self.keys is None:
            if mode == "always":
                raise ReceiptError("aucune clé publique de la plateforme pour vérifier la signature")
            log.warning(
                "Reçu %s non vérifié : clés publiques de la plateforme indisponibles",
                receipt.get("submission_id"),
            )
            return None
        signature = receipt.get("signature")
        key_id = signature.get("key_id") if isinstance(signature, dict) else None
        known = {entry.get("key_id") for entry in self.keys.get("keys", []) if isinstance(entry, dict)}
        if key_id is not None and key_id not in known:
            try:  # a key rotated since the last fetch
                self.keys = client.fetch_keys()
                if state is not None:
                    state.save_platform_keys(self.keys)
            except Exception as error:
                raise ReceiptError(f"clé {key_id} inconnue et clés non récupérables ({error})") from error
        return verify_receipt(receipt, self.keys)

    def _account(self, report: RunReport, receipt: dict[str, Any], body: bytes, replay: bool) -> None:
        counts = receipt.get("counts") or {}
        for name in COUNT_NAMES:
            value = counts.get(name, 0)
            report.counts[name] += value if isinstance(value, int) else 0
        report.submissions.append(str(receipt.get("submission_id")))
        records = json.loads(body)["records"]
        rejected = 0
        for result in receipt.get("results") or []:
            if result.get("outcome") != "rejected":
                continue
            index = result.get("index")
            record = records[index] if isinstance(index, int) and 0 <= index < len(records) else {}
            problems = result.get("problems") or []
            codes = {problem.get("code") for problem in problems}
            if record.get("withdrawn") is True and codes and codes <= NOTHING_TO_WITHDRAW:
                log.info(
                    "Retrait de %s : rien à retirer (%s)",
                    result.get("operator_ref"),
                    ", ".join(sorted(codes)),
                )
                continue
            rejected += 1
            report.rejected.append(
                {
                    "operator": result.get("operator"),
                    "operator_ref": result.get("operator_ref"),
                    "problems": problems,
                }
            )
            for problem in problems:
                log.warning(
                    "Rejeté %s %s : %s %s — %s",
                    result.get("operator"),
                    result.get("operator_ref"),
                    problem.get("code"),
                    problem.get("pointer"),
                    problem.get("message_fr"),
                )
        log.info(
            "Reçu %s%s : créés %d, mis à jour %d, inchangés %d, retirés %d, rejetés %d",
            receipt.get("submission_id") or "d'essai",
            " (rejoué)" if replay else "",
            *(int(counts.get(name, 0) or 0) for name in COUNT_NAMES[1:]),
        )
        if rejected:
            report.fail(
                EXIT_REJECTED,
                f"{rejected} enregistrement(s) rejeté(s) par la plateforme ({receipt.get('submission_id')})",
            )

    # --- Reporting -------------------------------------------------------------------------------

    def _write_report(self, report: RunReport) -> None:
        folder = self.config.reports
        try:
            folder.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            path = folder / f"dry-run-{stamp}-{uuid.uuid4().hex[:6]}.json"
            path.write_text(json.dumps(report.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
            fsync_directory(folder)
        except OSError as error:
            log.error("Rapport d'essai non écrit dans %s : %s", folder, error)
            return
        report.report_path = str(path)
        log.info("Rapport d'essai : %s", path)

    def _summary(self, report: RunReport) -> None:
        counts = report.counts
        log.info(
            "%s terminé (code %d) : %d lot(s), créés %d, mis à jour %d, inchangés %d, retirés %d, "
            "rejetés %d, problèmes locaux %d",
            "Essai" if report.dry_run else "Passage",
            report.exit_code,
            report.batches,
            *(counts.get(name, 0) for name in COUNT_NAMES[1:]),
            report.local_invalid,
        )


def parse_interval(text: str) -> float:
    """``90``, ``30s``, ``15m`` or ``2h`` as seconds."""
    text = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600}
    factor = units.get(text[-1:])
    number = text[:-1] if factor else text
    try:
        value = float(number) * (factor or 1)
    except ValueError as error:
        raise ValueError(f"intervalle invalide : {text!r} (exemples : 30s, 15m, 1h)") from error
    if value <= 0:
        raise ValueError(f"intervalle invalide : {text!r} (il doit être positif)")
    return value


def run_every(config: Config, interval: float, *, dry_run: bool, stop: threading.Event) -> int:
    """Run, wait ``interval``, run again, until ``stop`` is set (SIGTERM/SIGINT); then exit cleanly."""
    last = EXIT_OK
    while not stop.is_set():
        last = Runner(config, stop=stop).run(dry_run=dry_run).exit_code
        if stop.wait(interval):
            break
    log.info("Arrêt demandé : fin de la boucle (dernier code %d)", last)
    return EXIT_OK
