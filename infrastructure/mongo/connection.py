"""The process's one MongoDB client, shared by everything that talks to the status view.

The API's status reads, the status projection, `/ready` and the metrics readings
each bound their own calls with `pymongo.timeout(...)` rather than each keeping a
client (and its pool and monitor threads) with timeouts of its own.
"""

from __future__ import annotations

from pymongo import MongoClient
from pymongo.database import Database

from infrastructure.mongo.payment_document import DEFAULT_DATABASE, PaymentDocument

SERVER_TIMEOUT_MS = 5000


class MongoConnection:
    """A client on `uri` and its default database; connects lazily, so the service starts
    while MongoDB is down. `close()` once nothing uses it any more."""

    def __init__(self, uri: str, server_timeout_ms: int = SERVER_TIMEOUT_MS) -> None:
        self._client: MongoClient[PaymentDocument] = MongoClient(
            uri, tz_aware=True, serverSelectionTimeoutMS=server_timeout_ms
        )
        self.database: Database[PaymentDocument] = self._client.get_default_database(
            default=DEFAULT_DATABASE
        )

    def close(self) -> None:
        self._client.close()
