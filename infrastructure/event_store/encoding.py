"""Stores domain events as JSON written and read by msgspec.

eventsourcing's default transcoder needs a hand-written transcoding for every
value type; msgspec encodes our Structs, datetimes and UUIDs natively and, given
the event class's annotations, decodes them back to the same types.
"""

from __future__ import annotations

import typing
from functools import cache
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent, Transcoder
from eventsourcing.utils import get_topic, resolve_topic

ENVELOPE = ("originator_id", "originator_version")


class MsgspecTranscoder(Transcoder):
    """Plain msgspec JSON; typing is restored by `MsgspecMapper`."""

    def encode(self, obj: Any) -> bytes:
        return msgspec.json.encode(obj)

    def decode(self, data: bytes) -> Any:
        return msgspec.json.decode(data)


@cache
def _field_types(event_class: type) -> dict[str, Any]:
    return typing.get_type_hints(event_class)


class MsgspecMapper(Mapper[UUID]):
    """Converts domain events to stored events and back, with msgspec."""

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        state = {k: v for k, v in vars(domain_event).items() if k not in ENVELOPE}
        payload = msgspec.json.encode(state)
        if self.compressor:
            payload = self.compressor.compress(payload)
        if self.cipher:
            payload = self.cipher.encrypt(payload)
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=get_topic(type(domain_event)),
            state=payload,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        event_class = resolve_topic(stored_event.topic)
        payload = stored_event.state
        try:
            if self.cipher:
                payload = self.cipher.decrypt(payload)
            if self.compressor:
                payload = self.compressor.decompress(payload)
            state = decode_event_state(event_class, payload)
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as error:
            msg = (
                f"cannot decode {stored_event.topic} v{stored_event.originator_version} "
                f"of {stored_event.originator_id}: {error}"
            )
            raise MapperDeserialisationError(msg) from error
        originator_id = stored_event.originator_id
        state["originator_id"] = (
            originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
        )
        state["originator_version"] = stored_event.originator_version
        domain_event = object.__new__(event_class)
        object.__setattr__(domain_event, "__dict__", state)
        return typing.cast(DomainEventProtocol[UUID], domain_event)


def decode_event_state(event_class: type, payload: bytes) -> dict[str, Any]:
    """Decodes a stored payload into the typed attribute values of `event_class`."""
    raw = msgspec.json.decode(payload)
    if not isinstance(raw, dict):
        raise ValueError("stored event state is not a JSON object")
    types = _field_types(event_class)
    return {
        key: msgspec.convert(value, types[key]) if key in types else value
        for key, value in raw.items()
    }
