"""Readiness probes: one quick question to a child, answered yes or no."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from pymongo import MongoClient
from pymongo.errors import PyMongoError

Probe = Callable[[], bool]


def http_ok(url: str) -> Probe:
    """Ready once `GET url` answers 200."""

    def probe() -> bool:
        try:
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    return probe


def mongo_ping(uri: str) -> Probe:
    """Ready once the server at `uri` answers `ping`."""

    def probe() -> bool:
        client: MongoClient[dict[str, object]] = MongoClient(
            uri, serverSelectionTimeoutMS=500, connectTimeoutMS=500
        )
        try:
            client.admin.command("ping")
            return True
        except PyMongoError:
            return False
        finally:
            client.close()

    return probe
