# SPDX-License-Identifier: MIT
# Runs the unmodified asyncio reference echo server on a free port: every address of
# 'localhost' is bound to one port first, the server is started with that port (so it
# logs it), and PORT_FILE gets it once the server listens.
# Usage: refserver.py SERVER_PY PORT_FILE
import asyncio
import errno
import os
import runpy
import socket
import sys

server_py, port_file = sys.argv[1], sys.argv[2]
orig_create_server = asyncio.base_events.BaseEventLoop.create_server


def bind_same_port(host):
    """Listening sockets on every address of host, all on one free port (an address
    the host does not have, such as ::1 without IPv6, is left out)."""
    infos = socket.getaddrinfo(host, 0, socket.AF_UNSPEC, socket.SOCK_STREAM, 0,
                               socket.AI_PASSIVE)
    seen, addrs = set(), []
    for fam, typ, proto, _, sa in infos:
        if (fam, sa[0]) not in seen:
            seen.add((fam, sa[0]))
            addrs.append((fam, typ, proto, sa))
    for _ in range(100):
        socks, port = [], 0
        try:
            for fam, typ, proto, sa in addrs:
                s = socket.socket(fam, typ, proto)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if fam == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                try:
                    s.bind((sa[0], port) + tuple(sa[2:]))
                except OSError as e:
                    s.close()
                    if e.errno == errno.EADDRNOTAVAIL:
                        continue
                    raise
                socks.append(s)
                port = s.getsockname()[1]
            if socks:
                return socks, port
            raise OSError(errno.EADDRNOTAVAIL, 'no address of %s can be bound' % host)
        except OSError as e:
            for s in socks:
                s.close()
            if e.errno != errno.EADDRINUSE:
                raise
    raise OSError(errno.EADDRINUSE, 'no port free on every address of ' + host)


async def create_server(self, factory, host=None, port=None, **kw):
    if host != 'localhost' or port != real_port or 'sock' in kw:
        return await orig_create_server(self, factory, host, port, **kw)
    servers = [await orig_create_server(self, factory, sock=s, **kw) for s in socks]
    tmp = port_file + '.tmp'
    with open(tmp, 'w') as f:
        f.write('%d\n' % real_port)
    os.rename(tmp, port_file)
    return servers[0]  # the others serve as long as the loop runs


socks, real_port = bind_same_port('localhost')
asyncio.base_events.BaseEventLoop.create_server = create_server
sys.argv = [server_py, str(real_port)]
runpy.run_path(server_py, run_name='__main__')
