"""/healthz and /readyz."""

import pytest


@pytest.mark.django_db
def test_healthz_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_ok_when_database_and_redis_answer(client, settings):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["checks"]["database"] == "ok"
    assert body["checks"]["redis"] == ("ok" if settings.REDIS_URL else "not configured")
    broker_ok = "not configured" if settings.CELERY_BROKER_URL.startswith("memory://") else "ok"
    assert body["checks"]["broker"] == broker_ok


@pytest.mark.django_db
def test_readyz_503_when_redis_is_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("redis unavailable")


@pytest.mark.django_db
def test_readyz_503_when_database_is_unreachable(client, monkeypatch):
    from django.db import connections

    def refuse(*args, **kwargs):
        raise connections["default"].Database.OperationalError("connection refused")

    monkeypatch.setattr(connections["default"], "cursor", refuse)  # the outage
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("database unavailable")


@pytest.mark.django_db
def test_readyz_503_when_the_celery_broker_is_unreachable(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"].startswith("broker unavailable")
    assert body["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_readyz_ignores_the_in_process_broker(client, settings):
    settings.CELERY_BROKER_URL = "memory://"
    settings.REDIS_URL = ""
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {
        "database": "ok",
        "redis": "not configured",
        "broker": "not configured",
    }


@pytest.mark.redis
@pytest.mark.django_db
def test_readyz_ok_with_a_live_redis_broker(client, settings):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")  # CI sets it
    settings.CELERY_BROKER_URL = settings.REDIS_URL
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["broker"] == "ok"


def test_probes_refuse_other_methods(client):
    assert client.post("/healthz").status_code == 405
