from __future__ import annotations

import sqlalchemy as sa

from kernel.runtime import Runtime
from kernel.uow import make_sessionmaker
from portal.app import create_app


def test_healthz_answers_without_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert "Set-Cookie" not in response.headers


def test_readyz_checks_the_database_and_the_migrations(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["migrations"]["at_head"] is True and body["migrations"]["current"] in body["migrations"]["head"]


def test_readyz_fails_when_the_database_is_unreachable(settings, db_urls):
    engine = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1})
    runtime = Runtime(settings=settings, urls=db_urls, engine=engine, sessions=make_sessionmaker(engine))
    client = create_app(settings, runtime=runtime).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json["status"] == "unavailable"
    assert client.get("/healthz").status_code == 200
    engine.dispose()
