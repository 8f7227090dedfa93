# SPDX-License-Identifier: MIT
# An echo server that echoes every byte but never ends its side of the stream, not even
# after the client's end of stream: the client must notice that it was not closed.
# Listens on 127.0.0.1, an ephemeral port written to PORT_FILE; exits after LIFETIME
# seconds (default 60) whatever happens.  Usage: noclose.py PORT_FILE [LIFETIME]
import asyncio
import os
import sys


class EchoNoClose(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)

    def eof_received(self):
        return True  # keep our side open: no FIN, ever


async def main(port_file, lifetime):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(EchoNoClose, '127.0.0.1', 0, reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    tmp = port_file + '.tmp'
    with open(tmp, 'w') as f:
        f.write('%d\n' % port)
    os.rename(tmp, port_file)
    await asyncio.sleep(lifetime)
    server.close()


asyncio.run(main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 60.0))
