"""The ``marsad-connect`` command: run, keygen, verify-receipt, status."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .config import ConfigError, load_config
from .runner import (
    EXIT_AUTH,
    EXIT_CODES_HELP,
    EXIT_CONFIG,
    EXIT_OK,
    Runner,
    parse_interval,
    run_every,
)
from .signing import (
    KeyFileError,
    ReceiptError,
    generate_key,
    load_private_key,
    public_key_b64,
    sign_request,
    verify_receipt,
    write_private_key,
)
from .state import State, StateError

log = logging.getLogger("marsad_connect")

DESCRIPTION = (
    "Envoie les projets d'un système d'information d'opérateur à la plateforme Marsad : lecture de la "
    "source depuis le dernier filigrane, mapping, validation locale, lots signés, reprises, reçus signés."
)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v", "--verbose", action="store_true", help="Journal détaillé (requêtes HTTP comprises)."
    )
    parser = argparse.ArgumentParser(
        prog="marsad-connect",
        description=DESCRIPTION,
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"marsad-connect {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMANDE")

    run = commands.add_parser(
        "run",
        parents=[common],
        help="Synchroniser la source avec la plateforme.",
        description="Un passage (--once, par défaut) ou un passage à intervalle régulier (--every 15m).",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--config", required=True, type=Path, help="Fichier de configuration YAML.")
    when = run.add_mutually_exclusive_group()
    when.add_argument("--once", action="store_true", help="Un seul passage (par défaut).")
    when.add_argument(
        "--every", metavar="DURÉE", help="Un passage toutes les DURÉE (30s, 15m, 1h) jusqu'à SIGTERM."
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="Mapper, valider et faire valider par la plateforme sans rien écrire (ni ici ni là-bas) ; "
        "un rapport JSON est écrit.",
    )

    keygen = commands.add_parser(
        "keygen",
        parents=[common],
        help="Créer une clé Ed25519 et afficher la clé publique à enregistrer sur la plateforme.",
        description="Écrit la clé privée (PEM, droits 0600) et affiche la clé publique "
        "en base64 (32 octets bruts).",
    )
    keygen.add_argument("--out", required=True, type=Path, help="Fichier de la clé privée à créer.")
    keygen.add_argument("--force", action="store_true", help="Remplacer un fichier existant.")

    sign = commands.add_parser(
        "sign",
        parents=[common],
        help="Signer le corps d'une requête (pour curl ou un autre client HTTP).",
        description="Affiche la signature Ed25519 (base64) de « HORODATAGE.CORPS », à envoyer dans "
        "l'en-tête Marsad-Signature avec Marsad-Timestamp.",
    )
    sign.add_argument("body", type=Path, metavar="CORPS.json", help="Le corps exact qui sera envoyé.")
    sign.add_argument("--key", required=True, type=Path, help="La clé privée (PEM).")
    sign.add_argument("--timestamp", type=int, help="Secondes Unix (par défaut : maintenant).")

    verify = commands.add_parser(
        "verify-receipt",
        parents=[common],
        help="Vérifier hors ligne la signature d'un reçu de la plateforme.",
        description="RECEIPT.json : un reçu ; KEYS.json : le document servi par /api/v1/exchange/keys.",
        epilog="Codes de sortie : 0 reçu authentique, 4 signature invalide, 1 fichier illisible.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument("receipt", type=Path, metavar="RECEIPT.json")
    verify.add_argument("--keys", required=True, type=Path, metavar="KEYS.json")

    status = commands.add_parser(
        "status",
        parents=[common],
        help="Filigrane, lots en attente, derniers reçus, problèmes locaux.",
        description="Lit le fichier d'état sans le modifier.",
    )
    status.add_argument("--config", required=True, type=Path, help="Fichier de configuration YAML.")
    status.add_argument("--receipt", metavar="ID", help="Afficher le reçu stocké (identifiant SUB-… ou clé).")
    status.add_argument("--json", action="store_true", help="Sortie JSON.")
    return parser


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
        stream=sys.stderr,
        force=True,
    )
    logging.getLogger("httpx").setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.INFO if verbose else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        # argparse exits 2 on a usage error; usage errors are code 1 here (2 means rejected records).
        return EXIT_OK if exit_.code in (0, None) else EXIT_CONFIG
    _logging(args.verbose)
    handlers = {"run": _run, "keygen": _keygen, "sign": _sign, "verify-receipt": _verify, "status": _status}
    return handlers[args.command](args)


def _run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        interval = parse_interval(args.every) if args.every else None
    except (ConfigError, ValueError) as error:
        log.error("%s", error)
        return EXIT_CONFIG
    stop = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        log.info("Signal %s reçu : arrêt après l'opération en cours", signal.Signals(signum).name)
        stop.set()
        signal.signal(signum, signal.SIG_DFL)  # a second signal stops at once (the state stays consistent)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if interval is None:
            return Runner(config, stop=stop).run(dry_run=args.dry_run).exit_code
        return run_every(config, interval, dry_run=args.dry_run, stop=stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _keygen(args: argparse.Namespace) -> int:
    key = generate_key()
    try:
        write_private_key(key, args.out, overwrite=args.force)
    except FileExistsError:
        log.error("%s existe déjà (--force pour le remplacer)", args.out)
        return EXIT_CONFIG
    except OSError as error:
        log.error("Clé non écrite (%s) : %s", args.out, error.strerror or error)
        return EXIT_CONFIG
    print(public_key_b64(key))
    log.info(
        "Clé privée écrite dans %s (0600). Enregistrez la clé publique ci-dessus sur la plateforme.", args.out
    )
    return EXIT_OK


def _sign(args: argparse.Namespace) -> int:
    try:
        key = load_private_key(args.key)
        body = args.body.read_bytes()
    except (OSError, ValueError, KeyFileError) as error:
        log.error("Signature impossible : %s", error)
        return EXIT_CONFIG
    timestamp = args.timestamp if args.timestamp is not None else int(time.time())
    print(sign_request(key, timestamp, body))
    return EXIT_OK


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError(f"{path} illisible : {error}") from error


def _verify(args: argparse.Namespace) -> int:
    try:
        receipt = _read_json(args.receipt)
        keys = _read_json(args.keys)
    except ConfigError as error:
        log.error("%s", error)
        return EXIT_CONFIG
    try:
        key_id = verify_receipt(receipt, keys)
    except ReceiptError as error:
        print(f"Reçu NON authentique : {error}")
        return EXIT_AUTH
    counts = receipt.get("counts") or {}
    print(
        f"Reçu authentique : {receipt.get('submission_id')} signé par la clé {key_id} de la plateforme ; "
        f"reçu le {receipt.get('received_at')}, empreinte {receipt.get('request_digest')}, "
        + ", ".join(f"{name} {value}" for name, value in counts.items())
    )
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        state = State.open(config.state, readonly=True)
    except (ConfigError, StateError) as error:
        log.error("%s", error)
        return EXIT_CONFIG
    with state:
        if args.receipt:
            raw = state.receipt(args.receipt)
            if raw is None:
                log.error("Aucun reçu %s dans l'état", args.receipt)
                return EXIT_CONFIG
            print(raw)
            return EXIT_OK
        document = {
            "state": str(config.state),
            "watermark": state.watermark,
            "pending": [_batch(batch) for batch in state.pending_batches()],
            "failed": [_batch(batch) | {"problem": batch.problem} for batch in state.failed_batches()],
            "receipts": state.receipt_count(),
            "last_receipts": state.receipts(limit=5),
            "local_problems": [
                {"key": p.key, "origin": p.origin, "problems": p.problems, "seen_at": p.seen_at}
                for p in state.local_problems()
            ],
        }
    if args.json:
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"État : {document['state']}")
    print(f"Filigrane : {document['watermark'] if document['watermark'] is not None else '(début)'}")
    print(f"Lots en attente : {len(document['pending'])}")
    for batch in document["pending"]:
        print(
            f"  {batch['batch_id'][:8]} {batch['records']} enr. clé {batch['idempotency_key']} "
            f"tentatives {batch['attempts']} {batch['last_error'] or ''}".rstrip()
        )
    print(f"Lots refusés en bloc : {len(document['failed'])}")
    for batch in document["failed"]:
        print(
            f"  {batch['batch_id'][:8]} {batch['records']} enr. {batch['created_at']} "
            f"{batch['last_error'] or ''}"
        )
    print(f"Reçus stockés : {document['receipts']}")
    for receipt in document["last_receipts"]:
        counts = ", ".join(f"{name} {value}" for name, value in receipt["counts"].items())
        print(f"  {receipt['submission_id']} {receipt['stored_at']} {counts}")
    print(f"Problèmes locaux : {len(document['local_problems'])}")
    for problem in document["local_problems"][:20]:
        messages = " ; ".join(f"{p['pointer']} {p['message']}" for p in problem["problems"])
        print(f"  {problem['key']} ({problem['origin']}) : {messages}")
    return EXIT_OK


def _batch(batch: Any) -> dict[str, Any]:
    return {
        "batch_id": batch.batch_id,
        "idempotency_key": batch.idempotency_key,
        "records": batch.record_count,
        "created_at": batch.created_at,
        "attempts": batch.attempts,
        "last_attempt_at": batch.last_attempt_at,
        "last_error": batch.last_error,
    }


if __name__ == "__main__":
    raise SystemExit(main())
