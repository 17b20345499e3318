"""A loopback HTTP/1.1 server that answers every request with one scripted reply.

For what the reference shop cannot send: a body of 10 MiB (its fault bodies pass
through a JSON request under Litestar's 10 MB cap), a chunked body with no length,
a body trickled out byte by byte. Runs on the test's own event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class Reply:
    """What the stand-in answers; `pause` seconds before each `chunk`-sized piece."""

    status: int = 200
    body: bytes = b""
    chunked: bool = False
    chunk: int = 64 * 1024
    pause: float = 0.0


@dataclass
class StandIn:
    url: str
    reply: Reply
    requests: list[str] = field(default_factory=list)


async def _read_request(reader: asyncio.StreamReader) -> str:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        (int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length")),
        0,
    )
    if length:
        await reader.readexactly(length)
    return lines[0]


async def _answer(writer: asyncio.StreamWriter, reply: Reply) -> None:
    framing = (
        b"Transfer-Encoding: chunked" if reply.chunked else b"Content-Length: %d" % len(reply.body)
    )
    writer.write(
        b"HTTP/1.1 %d Stand-in\r\nContent-Type: application/json\r\n%s\r\nConnection: close\r\n\r\n"
        % (reply.status, framing)
    )
    body = memoryview(reply.body)
    for start in range(0, len(body), reply.chunk):
        if reply.pause:
            await asyncio.sleep(reply.pause)
        piece = body[start : start + reply.chunk]
        if reply.chunked:
            writer.write(b"%x\r\n" % len(piece))
        writer.write(piece)
        if reply.chunked:
            writer.write(b"\r\n")
        await writer.drain()  # never more than a socket buffer of it in memory at once
    if reply.chunked:
        writer.write(b"0\r\n\r\n")
    await writer.drain()


@asynccontextmanager
async def stand_in(reply: Reply) -> AsyncIterator[StandIn]:
    served: StandIn

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            served.requests.append(await _read_request(reader))
            await _answer(writer, served.reply)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client hung up: that is what some tests are about
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    served = StandIn(f"http://127.0.0.1:{port}", reply)
    try:
        yield served
    finally:
        server.close()
        # Handlers still writing to a client that gave up end with the connection.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2)
