"""uvicorn's HTTP/1.1 protocols with the header-read timeout uvicorn lacks (ADR 0005).

uvicorn arms its keep-alive timer only after an answer, and cancels it at the
first byte of the next request: a client that connects and sends part of a
request line or of its headers, then nothing, holds the connection (and a slot
of `limit_concurrency`) for as long as it likes. Here every wait for a request's
line and headers, on a new connection or between kept-alive requests, has one
deadline; a connection that misses it is closed. Once the headers are in, the
deadline is off: the body and the answer are the app's business.

`payments serve` runs the httptools protocol (issue 15: its parser is C, the h11 one
pure Python); it also caps a request's line and headers at `MAX_HEAD_BYTES`, as h11
does by itself (httptools buffers headers without limit), answering 400 past it.
The h11 one is kept for where httptools cannot be installed.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# h11's own limit on a request's line and headers (`h11_max_incomplete_event_size`).
MAX_HEAD_BYTES = 16 * 1024


class _HeaderDeadlineH11Protocol(H11Protocol):
    header_timeout_seconds: float = 10.0
    _header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._follow_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        self._follow_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow_header_deadline()

    def _follow_header_deadline(self) -> None:
        """Armed while the client owes a request's line and headers, off otherwise."""
        awaiting_headers = self.conn.their_state is h11.IDLE and not self.transport.is_closing()
        if not awaiting_headers:
            self._cancel_header_deadline()
        elif self._header_deadline is None:
            self._header_deadline = self.loop.call_later(
                self.header_timeout_seconds, self._headers_too_late
            )

    def _cancel_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_late(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def h11_with_header_deadline(seconds: float) -> type[H11Protocol]:
    """The protocol class to give `uvicorn.run(http=...)`."""
    return type(
        "HeaderDeadlineH11Protocol",
        (_HeaderDeadlineH11Protocol,),
        {"header_timeout_seconds": float(seconds)},
    )


class HeadTooLarge(ValueError):
    """A request's line and headers passed `MAX_HEAD_BYTES` (uvicorn answers 400)."""


class _HeaderDeadlineHttpToolsProtocol(HttpToolsProtocol):
    header_timeout_seconds: float = 10.0
    _header_deadline: asyncio.TimerHandle | None = None
    _head_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        self._head_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._cancel_header_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Waiting for headers again, unless a pipelined request (headers in) just started.
        if self.cycle is None or self.cycle.response_complete:
            self._arm_header_deadline()

    def _count_head(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > MAX_HEAD_BYTES:
            raise HeadTooLarge(f"request line and headers over {MAX_HEAD_BYTES} bytes")

    def _arm_header_deadline(self) -> None:
        if self._header_deadline is None and not self.transport.is_closing():
            self._header_deadline = self.loop.call_later(
                self.header_timeout_seconds, self._headers_too_late
            )

    def _cancel_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_late(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def httptools_with_header_deadline(seconds: float) -> type[HttpToolsProtocol]:
    """The protocol class to give `uvicorn.run(http=...)`: httptools' C parser."""
    return type(
        "HeaderDeadlineHttpToolsProtocol",
        (_HeaderDeadlineHttpToolsProtocol,),
        {"header_timeout_seconds": float(seconds)},
    )
