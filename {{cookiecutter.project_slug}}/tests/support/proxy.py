"""A TCP proxy a fault test controls, between the code under test and one of the run's
services: `cut()` is an outage as the code sees it (open connections reset, new ones
refused) without touching the service, which other tests and workers go on using."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

CHUNK_BYTES = 64 * 1024


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.server: asyncio.Server | None = None
        self.connections: set[asyncio.StreamWriter] = set()
        self.forgotten: set[asyncio.StreamWriter] = set()
        self.up = True

    @property
    def port(self) -> int:
        assert self.server is not None
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    def cut(self) -> None:
        """Reset every open connection and refuse new ones until `restore()`. The peers'
        sockets see the reset when this returns, as after a restart: `abort()` alone closes
        a socket only on the event loop's next turn."""
        self.up = False
        for writer in list(self.connections):
            with contextlib.suppress(OSError):
                writer.transport.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
            writer.transport.abort()
        self.connections.clear()

    def restore(self) -> None:
        self.up = True

    def forget(self) -> None:
        """Forget every open connection without a word, as a NAT or a load balancer does past
        its idle timeout: the peers hear nothing until they send, and then it is reset."""
        self.forgotten |= self.connections

    async def _serve(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        if not self.up:
            client.transport.abort()
            return
        try:
            server_reader, server = await asyncio.open_connection(*self.target)
        except OSError:
            client.transport.abort()
            return
        self.connections |= {client, server}
        await asyncio.gather(self._pipe(client_reader, server), self._pipe(server_reader, client))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while self.up and (chunk := await reader.read(CHUNK_BYTES)):
                if writer in self.forgotten:
                    break
                writer.write(chunk)
                await writer.drain()
        self.connections.discard(writer)
        writer.transport.abort()


@asynccontextmanager
async def tcp_proxy(target_host: str, target_port: int) -> AsyncIterator[TcpProxy]:
    """A proxy to the target on a free port of this host, until the block ends."""
    proxy = TcpProxy(target_host, target_port)
    proxy.server = await asyncio.start_server(proxy._serve, "127.0.0.1", 0)
    try:
        yield proxy
    finally:
        proxy.cut()
        proxy.server.close()
        await proxy.server.wait_closed()
