# SPDX-License-Identifier: MIT
# An echo client with chosen bytes: sends a payload in a few writes, half-closes, reads
# to the end of stream and checks that exactly the payload came back.
# With --reset, it reads the echo back without half-closing and then resets the
# connection (SO_LINGER 0), so that the server's next receive fails.
# Usage: rawclient.py HOST PORT KIND [--reset]
#        KIND: every-byte | quotes | random:SIZE:SEED
# Exit status 0 = echoed exactly, 1 = not (what differs is printed).
import random
import socket
import struct
import sys


def make_payload(kind):
    """The chunks (one write each) that KIND names."""
    if kind == 'every-byte':
        return [bytes(range(256)), b'\x00\x00', bytes(range(255, -1, -1))]
    if kind == 'quotes':
        return [b"only 'single'", b'only "double"', b'both \' and "', b'back\\slash\t\r\n']
    name, size, seed = kind.split(':')
    if name != 'random':
        raise SystemExit('unknown payload kind ' + kind)
    data = random.Random(int(seed)).randbytes(int(size))
    step = max(1, len(data) // 5)
    return [data[i:i + step] for i in range(0, len(data), step)]


def main():
    host, port, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    reset = sys.argv[4:] == ['--reset']
    chunks = make_payload(kind)
    want = b''.join(chunks)
    with socket.create_connection((host, port), timeout=30) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        got = bytearray()
        for c in chunks:
            s.sendall(c)
        if not reset:
            s.shutdown(socket.SHUT_WR)
        while not reset or len(got) < len(want):
            b = s.recv(65536)
            if not b:
                break
            got += b
        if reset:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    if bytes(got) != want:
        n = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]),
                 min(len(got), len(want)))
        print('echo differs: sent %d bytes, got %d; first difference at byte %d'
              % (len(want), len(got), n))
        return 1
    return 0


sys.exit(main())
