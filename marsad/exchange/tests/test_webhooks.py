"""Webhooks: subscriptions, thin notifications signed per Standard Webhooks, delivered by the task
worker to a real HTTP endpoint, retried with exponential backoff, disabled after repeated 410s."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from standardwebhooks import Webhook

from marsad.exchange import webhooks
from marsad.exchange.models import WebhookDelivery, WebhookSubscription
from marsad.registry.models import LedgerEntry
from marsad.registry.tests.records import record

from .support import ADMIN, sender

pytestmark = pytest.mark.django_db


class Endpoint:
    """A real HTTP endpoint on loopback that answers with the statuses it is given, in turn."""

    def __init__(self):
        self.statuses: list[int] = []
        self.received: list[tuple[dict, bytes]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                endpoint.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = endpoint.statuses.pop(0) if endpoint.statuses else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/marsad"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    found = Endpoint()
    yield found
    found.close()


def run_worker():
    call_command("db_worker", "--batch", "--no-startup-delay", "--queue-name", "*", verbosity=0)


def subscribe(http, sender_, url):
    body = json.dumps({"url": url}).encode()
    headers = sender_.headers(body)
    headers.pop("HTTP_IDEMPOTENCY_KEY")
    return http.post("/api/v1/exchange/webhooks", data=body, content_type="application/json", **headers)


def test_backoff_doubles_from_five_seconds_up_to_an_hour():
    assert [webhooks.backoff(n).total_seconds() for n in (1, 2, 3, 4, 10, 11, 20)] == [
        5, 10, 20, 40, 2560, 3600, 3600
    ]  # fmt: skip


def test_a_subscription_is_created_signed_and_listed(client, endpoint):
    doe = sender()
    response = subscribe(client, doe, endpoint.url)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["secret"].startswith("whsec_")
    assert (created["url"], created["active"]) == (endpoint.url, True)
    listed = client.get("/api/v1/exchange/webhooks", HTTP_AUTHORIZATION=f"Bearer {doe.token}").json()
    assert [w["id"] for w in listed] == [created["id"]]
    assert "secret" not in listed[0]


@pytest.mark.parametrize("url", ["ftp://example.org/x", "not a url", ""])
def test_a_bad_url_is_422(client, url):
    response = subscribe(client, sender(), url)
    assert response.status_code == 422
    assert response.json()["type"].endswith("/invalid-webhook")


def test_an_unsigned_subscription_is_401(client, endpoint):
    doe = sender()
    response = client.post(
        "/api/v1/exchange/webhooks", data=json.dumps({"url": endpoint.url}), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {doe.token}",
    )  # fmt: skip
    assert response.status_code == 401


def test_a_commit_notifies_subscribers_through_the_worker(
    client, endpoint, django_capture_on_commit_callbacks
):
    doe = sender()
    secret = subscribe(client, doe, endpoint.url).json()["secret"]
    cs = sender("MA-ALOMRANE-CS")
    other = WebhookSubscription.objects.get(
        pk=webhooks.webhook_subscribe(actor=ADMIN, client=cs.client, url=endpoint.url).pk
    )
    with django_capture_on_commit_callbacks(execute=True):
        receipt = doe.submit(client, [record(operator_ref="W1"), record(operator_ref="W2")]).json()
    # queued after the commit: the fan-out, the alerts' evaluation and the indicators' refresh
    assert sorted(DBTaskResult.objects.values_list("task_path", flat=True)) == [
        "marsad.alerts.tasks.alerts_evaluate_task",
        "marsad.exchange.tasks.webhooks_fanout",
        "marsad.indicators.tasks.facts_refresh_task",
    ]
    run_worker()
    # the Casablanca client may not read Dakhla's unpublished projects: nothing for it
    assert WebhookDelivery.objects.filter(subscription=other).count() == 0
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts) == ("delivered", 1)
    headers, body = endpoint.received[0]
    payload = Webhook(secret).verify(body, headers)
    versions = list(LedgerEntry.objects.filter(kind="version").order_by("seq"))
    assert payload["type"] == "project.versions"
    assert payload["data"]["events"] == 2
    assert payload["data"]["projects"] == [r["project_id"] for r in receipt["results"]]
    # the cursors bracket exactly the new events: reading the feed from "after" gives them
    page = client.get(
        "/api/v1/exchange/changes",
        {"after": payload["data"]["after"]},
        HTTP_AUTHORIZATION=f"Bearer {doe.token}",
    ).json()
    assert [e["cursor"] for e in page["events"]][-1] == payload["data"]["until"]
    assert [e["sha256"] for e in page["events"]] == [v.digest for v in versions]
    log = client.get(
        f"/api/v1/exchange/webhooks/{delivery.subscription.public_id}/deliveries",
        HTTP_AUTHORIZATION=f"Bearer {doe.token}",
    ).json()
    assert [(d["state"], [a["status_code"] for a in d["attempt_log"]]) for d in log] == [("delivered", [204])]


def test_a_tampered_notification_fails_verification(endpoint):
    doe = sender()
    subscription = webhooks.webhook_subscribe(actor=ADMIN, client=doe.client, url=endpoint.url)
    delivery = _delivery(subscription)
    webhooks.deliver(delivery.pk)
    headers, body = endpoint.received[0]
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(subscription.secret).verify(body.replace(b'"events":1', b'"events":9'), headers)


def _delivery(subscription):
    now = timezone.now()
    return WebhookDelivery.objects.create(
        subscription=subscription, message_id=f"msg_{subscription.pk}_{WebhookDelivery.objects.count()}",
        event_type="project.versions", payload={"type": "project.versions", "data": {"events": 1}},
        state="pending", created_at=now, next_attempt_at=now,
    )  # fmt: skip


def test_failures_are_retried_with_backoff_then_abandoned(endpoint, settings):
    settings.MARSAD_WEBHOOK_MAX_ATTEMPTS = 3
    endpoint.statuses = [500, 503, 502]
    subscription = webhooks.webhook_subscribe(actor=ADMIN, client=sender().client, url=endpoint.url)
    delivery = _delivery(subscription)
    now = timezone.now()
    assert webhooks.deliver(delivery.pk, now=now) == "retrying"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == now + timedelta(seconds=5)
    assert webhooks.deliver(delivery.pk, now=now) == "retrying"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == now + timedelta(seconds=10)
    assert webhooks.deliver(delivery.pk, now=now) == "abandoned"
    assert [a.status_code for a in delivery.attempt_log.all()] == [500, 503, 502]


def test_an_unreachable_endpoint_is_logged_and_retried():
    subscription = webhooks.webhook_subscribe(
        actor=ADMIN, client=sender().client, url="http://127.0.0.1:9/none"
    )
    delivery = _delivery(subscription)
    assert webhooks.deliver(delivery.pk) == "retrying"
    attempt = delivery.attempt_log.get()
    assert attempt.status_code is None
    assert attempt.error.startswith("ConnectError")


def test_the_worker_requeues_a_retry_for_later(endpoint):
    endpoint.statuses = [500]
    subscription = webhooks.webhook_subscribe(actor=ADMIN, client=sender().client, url=endpoint.url)
    delivery = _delivery(subscription)
    from marsad.exchange.tasks import webhook_deliver

    webhook_deliver.enqueue(delivery.pk)
    run_worker()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("retrying", 1)
    waiting = DBTaskResult.objects.filter(status="READY").get()
    assert waiting.run_after == delivery.next_attempt_at


def test_repeated_410_disables_the_subscription(endpoint, settings):
    settings.MARSAD_WEBHOOK_GONE_LIMIT = 3
    endpoint.statuses = [410, 410, 204, 410, 410, 410]
    subscription = webhooks.webhook_subscribe(actor=ADMIN, client=sender().client, url=endpoint.url)
    states = [webhooks.deliver(_delivery(subscription).pk) for _ in range(6)]
    assert states == ["gone", "gone", "delivered", "gone", "gone", "gone"]
    subscription.refresh_from_db()
    assert subscription.disabled_at is not None
    assert subscription.disabled_reason == "3 réponses 410 consécutives"
    assert webhooks.deliver(_delivery(subscription).pk) == "abandoned"
    assert len(endpoint.received) == 6


def test_another_clients_delivery_log_is_404(client, endpoint):
    subscription = webhooks.webhook_subscribe(actor=ADMIN, client=sender().client, url=endpoint.url)
    cs = sender("MA-ALOMRANE-CS")
    response = client.get(
        f"/api/v1/exchange/webhooks/{subscription.public_id}/deliveries",
        HTTP_AUTHORIZATION=f"Bearer {cs.token}",
    )
    assert response.status_code == 404
