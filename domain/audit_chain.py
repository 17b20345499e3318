"""The hash chain that makes a payment's history tamper-evident.

Each event carries `previous_hash` (the chain head before it) and `chain_hash`,
SHA-256 over the previous hash and a canonical encoding of the event: its type,
payment, version, time and data. Changing, removing or reordering a stored
event breaks the chain at that event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate, CanMutateAggregate

GENESIS_HASH = "0" * 64
CHAIN_FIELDS = frozenset(
    {"originator_id", "originator_version", "timestamp", "previous_hash", "chain_hash"}
)


def chain_digest(
    previous_hash: str,
    event_type: str,
    payment_id: UUID,
    version: int,
    timestamp: datetime,
    data: Mapping[str, Any],
) -> str:
    canonical = msgspec.json.encode(
        {
            "previous": previous_hash,
            "type": event_type,
            "payment": str(payment_id),
            "version": version,
            "timestamp": timestamp,
            "data": {key: value for key, value in data.items() if key not in CHAIN_FIELDS},
        },
        order="sorted",
    )
    return hashlib.sha256(previous_hash.encode() + b"\n" + canonical).hexdigest()


def digest_of(event: object, recorded_as: str | None = None) -> str:
    """Recomputes the digest of an event as it stands (e.g. loaded from the store).

    The type hashed is the one the event was chained under: its class's qualified
    name, or `recorded_as` for an event stored under an older name of its class
    (the name in its stored topic), so a renamed class still verifies old events.
    """
    state = vars(event)
    return chain_digest(
        state["previous_hash"],
        recorded_as or type(event).__qualname__,
        state["originator_id"],
        state["originator_version"],
        state["timestamp"],
        state,
    )


class ChainedAggregate(Aggregate):
    """An aggregate whose events form a hash chain, each one hashed as it is triggered.

    Subclasses declare their events as eventsourcing's examples do (`@event("Credited")
    def credit(self, amount)`); every event, the created one too, gets `previous_hash`
    and `chain_hash` here, so no event or command of theirs mentions the chain.
    """

    if TYPE_CHECKING:  # set by the events; an annotation would make it a dataclass field
        _chain_head: str

    class Event(Aggregate.Event):
        previous_hash: str
        chain_hash: str

        def apply(self, aggregate: Any) -> None:
            aggregate._chain_head = self.chain_hash

    @property
    def chain_head(self) -> str:
        """The hash of the last event: the next one is chained to it."""
        return self._chain_head

    @classmethod
    def declared_event(cls, name: str) -> type[ChainedAggregate.Event]:
        """The event class an `@event(name)` method declared (the type checker cannot see it)."""
        found = getattr(cls, name, None)
        if not (isinstance(found, type) and issubclass(found, ChainedAggregate.Event)):
            raise AttributeError(f"{cls.__qualname__} declares no event {name!r}")
        return found

    @classmethod
    def _create(
        cls,
        event_class: type[Any],  # the created event, as `declared_event` finds it
        *,
        id: UUID | None = None,
        **kwargs: Any,
    ) -> Self:
        """The first event is chained to the genesis hash; its data includes the aggregate's
        topic (`originator_topic`, which eventsourcing adds to it)."""
        if id is None:
            raise TypeError(f"{cls.__qualname__} is created with its id")
        topic = f"{cls.__module__}:{cls.__qualname__}"  # eventsourcing's get_topic()
        chained = _chained(event_class, GENESIS_HASH, id, cls.INITIAL_VERSION, kwargs, topic)
        return super()._create(event_class, id=id, **chained)

    def trigger_event(self, event_class: type[CanMutateAggregate[UUID]], **kwargs: Any) -> None:
        chained = _chained(event_class, self.chain_head, self.id, self.version + 1, kwargs)
        super().trigger_event(event_class, **chained)


def _chained(
    event_class: type[Any],
    previous_hash: str,
    aggregate_id: UUID,
    version: int,
    data: dict[str, Any],
    originator_topic: str | None = None,
) -> dict[str, Any]:
    """The event's arguments with its time (now, unless given) and its place in the chain."""
    timestamp = data.pop("timestamp", None) or event_class.create_timestamp()
    hashed = data if originator_topic is None else {**data, "originator_topic": originator_topic}
    digest = chain_digest(
        previous_hash, event_class.__qualname__, aggregate_id, version, timestamp, hashed
    )
    return {**data, "timestamp": timestamp, "previous_hash": previous_hash, "chain_hash": digest}
