#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Baseline TCP echo server for the echo comparison: asyncio protocols, or uvloop with --uvloop."""
import argparse
import asyncio
import signal


class Echo(asyncio.Protocol):
    """Writes back every chunk; stops reading while the transport's buffer is full."""

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)

    def eof_received(self):
        # The client's EOF: half-close once everything written is sent, then close.
        self.transport.write_eof()
        return None

    def pause_writing(self):
        self.transport.pause_reading()

    def resume_writing(self):
        self.transport.resume_reading()


async def serve(port):
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    # TCP_NODELAY is set by asyncio and uvloop on TCP transports.
    server = await loop.create_server(Echo, "127.0.0.1", port, backlog=4096)
    async with server:
        await stop


def main():
    ap = argparse.ArgumentParser(
        prog="asyncio_server.py",
        description="Baseline echo server for the echo comparison, listening on 127.0.0.1.",
    )
    ap.add_argument("--port", type=int, default=7007, help="port (default 7007)")
    ap.add_argument("--uvloop", action="store_true", help="run on uvloop's event loop")
    args = ap.parse_args()
    if args.uvloop:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
