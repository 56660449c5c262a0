import json
import subprocess
import sys

import pytest
import yaml
from marsad_connect.cli import main
from marsad_connect.config import ConfigError, load_config


def test_help_lists_the_exit_codes(capsys):
    assert main(["--help"]) == 0
    output = capsys.readouterr().out
    for line in (
        "0  tout a été envoyé",
        "1  erreur d'usage ou de configuration",
        "2  des enregistrements ont été rejetés",
        "3  plateforme injoignable",
        "4  authentification ou signature refusée",
        "5  un lot refusé en bloc",
        "6  source illisible",
    ):
        assert line in output
    assert main(["run", "--help"]) == 0
    assert "--every DURÉE" in capsys.readouterr().out


def test_the_console_script_is_installed():
    result = subprocess.run(
        [sys.executable, "-m", "marsad_connect", "--version"], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout.strip()) == (0, "marsad-connect 0.1.0")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["run"],
        ["run", "--config", "c.yaml", "--once", "--every", "15m"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_1(argv, capsys):
    assert main(argv) == 1


def test_configuration_errors_exit_1(tmp_path, write_config):
    assert main(["run", "--config", str(tmp_path / "absent.yaml")]) == 1
    assert main(["run", "--config", str(write_config()), "--every", "15x"]) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"batch_size": 1001}, "batch_size"),
        ({"batch_size": 0}, "batch_size"),
        ({"platform": {"url": "ftp://x"}}, "platform.url"),
        ({"platform": {"key_id": ""}}, "platform.key_id"),
        ({"platform": {"verify_receipts": "sometimes"}}, "verify_receipts"),
        ({"platform": {"retry": {"attempts": 0}}}, "attempts"),
        ({"platform": {"retry": {"tries": 3}}}, "clé\\(s\\) inconnue\\(s\\) tries"),
        ({"source": {"kind": "ftp"}}, "source.kind"),
        ({"source": {"kind": "sql", "url": "sqlite:///x"}}, "source.query"),
        ({"source": {"kind": "folder", "path": "x", "query": "q"}}, "clé\\(s\\) inconnue\\(s\\) query"),
        ({"mapping": {"operator": "MA-X"}}, "Mapping"),
        ({"mapping": "absent.yaml"}, "Mapping illisible"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_configuration_errors(write_config, change, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write_config(**change))


def test_paths_are_taken_from_the_configuration_folder(write_config, tmp_path):
    config = load_config(write_config(reports="out/reports"))

    assert config.state == tmp_path / "state" / "connect.sqlite3"
    assert config.reports == tmp_path / "out" / "reports"
    assert (config.batch_size, config.retry.attempts, config.verify_receipts) == (15, 3, "auto")


def test_status_reports_the_state(platform, sim_db, write_config, capsys):
    config = write_config()
    assert main(["run", "--config", str(config), "--once"]) == 0
    capsys.readouterr()

    assert main(["status", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert "Filigrane : 2026-01-01 05:59:59" in text
    assert "Lots en attente : 0" in text
    assert "Reçus stockés : 3" in text

    assert main(["status", "--config", str(config), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["watermark"], document["pending"], document["receipts"]) == (
        "2026-01-01 05:59:59",
        [],
        3,
    )
    submission = document["last_receipts"][0]["submission_id"]

    assert main(["status", "--config", str(config), "--receipt", submission]) == 0
    receipt = json.loads(capsys.readouterr().out)
    assert receipt["submission_id"] == submission
    assert main(["status", "--config", str(config), "--receipt", "SUB-999999"]) == 1


def test_the_example_configuration_loads(monkeypatch):
    from conftest import EXAMPLES

    monkeypatch.setenv("MARSAD_CONNECT_TOKEN", "from-the-environment")
    config = load_config(EXAMPLES / "connect.yaml")

    assert config.url == "http://127.0.0.1:8000"
    assert config.token == "from-the-environment"
    assert config.source["kind"] == "sql"
    assert config.state.parts[-3:] == ("var", "alomrane", "connect-state.sqlite3")
    assert yaml.safe_load((EXAMPLES / "connect.yaml").read_text())["mapping"] == "mapping.yaml"


def test_sign_prints_the_signature_of_timestamp_dot_body(tmp_path, capsys):
    import base64

    from marsad_connect.signing import load_private_key

    key_path, body_path = tmp_path / "k.pem", tmp_path / "body.json"
    assert main(["keygen", "--out", str(key_path)]) == 0
    body_path.write_bytes(b'{"records":[]}')
    capsys.readouterr()
    assert main(["sign", "--key", str(key_path), "--timestamp", "1700000000", str(body_path)]) == 0
    signature = base64.b64decode(capsys.readouterr().out.strip())
    load_private_key(key_path).public_key().verify(signature, b'1700000000.{"records":[]}')
    assert main(["sign", "--key", str(tmp_path / "missing.pem"), str(body_path)]) == 1
