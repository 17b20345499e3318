"""The shop's Litestar application: auth, products, orders, internal routes, admin, gateway."""

from __future__ import annotations

import httpx
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide

from sandbox.shop.web.admin import admin_router
from sandbox.shop.web.auth import login
from sandbox.shop.web.catalog import list_products
from sandbox.shop.web.errors import EXCEPTION_HANDLERS
from sandbox.shop.web.gateway import gateway_route
from sandbox.shop.web.internal import internal_router
from sandbox.shop.web.orders import create_order, get_order, list_orders
from sandbox.shop.wiring import Shop

# Webhooks and checkout creation can take a while upstream; the gateway should not give up first.
UPSTREAM_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


def create_app(shop: Shop) -> Litestar:
    upstream = httpx.AsyncClient(
        base_url=shop.settings.payment_service_url,
        timeout=UPSTREAM_TIMEOUT,
        follow_redirects=False,
    )

    async def close_upstream() -> None:
        await upstream.aclose()

    def provide_shop() -> Shop:
        return shop

    return Litestar(
        route_handlers=[
            login,
            list_products,
            create_order,
            list_orders,
            get_order,
            internal_router(),
            admin_router(),
            gateway_route(upstream),
        ],
        dependencies={"shop": Provide(provide_shop, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,
        state=State({"shop": shop}),
        on_shutdown=[close_upstream],
        openapi_config=None,
    )
