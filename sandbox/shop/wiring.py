"""Composition root: builds the shop's parts from its settings."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import timedelta

from sandbox.shop.accounts import Accounts
from sandbox.shop.call_log import CallLog
from sandbox.shop.faults import FaultBoard
from sandbox.shop.inventory import Inventory
from sandbox.shop.orders import OrderBook
from sandbox.shop.schema import open_database
from sandbox.shop.seed import seed_if_empty
from sandbox.shop.settings import ShopSettings


@dataclass(frozen=True, slots=True)
class Shop:
    """Everything a request handler may need, built once per process."""

    settings: ShopSettings
    database: sqlite3.Connection
    accounts: Accounts
    orders: OrderBook
    inventory: Inventory
    calls: CallLog
    faults: FaultBoard


def build_shop(settings: ShopSettings) -> Shop:
    database = open_database(settings.data_dir)
    seed_if_empty(database)
    orders = OrderBook(database)
    return Shop(
        settings=settings,
        database=database,
        accounts=Accounts(database, settings.jwt_secret, timedelta(hours=settings.token_hours)),
        orders=orders,
        inventory=Inventory(database, orders),
        calls=CallLog(database),
        faults=FaultBoard(),
    )
