"""The page benchmark's baseline: a bare Flask app serving the rows of the buyer's first
page of purchase orders - the same service call, hence the same queries, as the portal's
/buyer/purchase-orders (erp.purchasing.service.list_purchase_orders, 50 rows, tenant
context set by the unit of work) - as JSON, with no session, sign-in, template, CSRF or
translation. gunicorn runs it with the portal's config: `bench.bare_app:create_app()`.

The signed-in user is fixed at start: BENCH_USER (default buyer@demo.example) in its
first tenant, with erp.demo.DEMO_PASSWORD.
"""

from __future__ import annotations

import os

from flask import Flask, jsonify

from auth import service as auth_service
from erp.demo import DEMO_PASSWORD
from erp.purchasing.service import list_purchase_orders
from kernel.runtime import Runtime
from kernel.settings import load_settings
from kernel.uow import Actor
from tenants.service import actor_for, memberships_of

PATH = "/buyer/purchase-orders"


def create_app() -> Flask:
    runtime = Runtime.start(load_settings())
    email = os.environ.get("BENCH_USER", "buyer@demo.example")
    with runtime.uow() as uow:
        user = auth_service.authenticate(uow, email=email, password=DEMO_PASSWORD)
        uow.switch_tenant(None, actor=Actor(user_id=user.id, name=user.email))
        membership = memberships_of(uow, user_id=user.id)[0]
        actor = actor_for(user, membership)
    app = Flask("bench_bare")

    @app.get(PATH)
    def purchase_orders():
        with runtime.uow(tenant_id=membership.tenant_id, actor=actor) as uow:
            page = list_purchase_orders(uow, limit=50)
            uow.commit()
        return jsonify(rows=page.items, next_cursor=page.next_cursor)

    @app.get("/healthz")
    def healthz():
        return "ok"

    return app
