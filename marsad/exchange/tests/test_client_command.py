"""marsad client: bad input is a clear error, never a traceback; a good one registers the client."""

from io import StringIO

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command

from marsad.exchange.models import ApiClient, ClientKey
from marsad.exchange.selectors import client_by_token
from marsad.exchange.signing import public_key_text

pytestmark = pytest.mark.django_db
PUBLIC = public_key_text(Ed25519PrivateKey.generate().public_key())


def client(*args: str) -> str:
    out = StringIO()
    call_command("client", *args, stdout=out)
    return out.getvalue()


def test_a_client_is_registered_with_its_key_and_its_token_shown_once():
    output = client(
        "create", "--organisation", "MA-ALOMRANE-CS", "--client-id", "si-cs", "--name", "SI",
        "--public-key", PUBLIC, "--key-id", "si-cs-1",
    )  # fmt: skip
    token = output.rsplit(" ", 1)[1].strip()
    assert client_by_token(token) == ApiClient.objects.get(client_id="si-cs")
    assert list(ClientKey.objects.values_list("key_id", flat=True)) == ["si-cs-1"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--organisation", "MA-NOPE", "--client-id", "x1"], "Organisation inconnue : MA-NOPE"),
        (["--organisation", "MA-ALOMRANE-CS", "--client-id", "Bad Id"], "Identifiant de client invalide"),
        (
            ["--organisation", "MA-ALOMRANE-CS", "--client-id", "x1", "--public-key", "AAAA"],
            "Clé publique invalide",
        ),
        (
            ["--organisation", "MA-ALOMRANE-CS", "--client-id", "x1", "--public-key-file", "/nope"],
            "illisible",
        ),
    ],
)
def test_bad_input_is_a_clear_error(args, message):
    with pytest.raises(CommandError, match=message):
        client("create", "--name", "SI", *args)
    assert not ApiClient.objects.filter(client_id="x1").exists()


def test_a_rate_of_zero_and_an_unknown_client_are_refused():
    with pytest.raises(CommandError):
        client(
            "create", "--organisation", "MA-ALOMRANE-CS", "--client-id", "x1", "--name", "SI", "--rate", "0"
        )
    with pytest.raises(CommandError, match="Client inconnu : ghost"):
        client("key-add", "--client", "ghost", "--public-key", PUBLIC)
