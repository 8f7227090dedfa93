# SPDX-License-Identifier: MIT
# Compares echo client or server logs in asyncio_echo_*.py's format, up to what timing may
# change: how the echoed bytes are split into 'received' lines, and ephemeral ports.
#
#   logcmp.py client EXPECTED ACTUAL [--any-port] [--messages M...]
#       The lines other than "EchoClient: received b'...'" are equal and in the same order;
#       each run of received lines sits at the same place and the received payloads,
#       concatenated, are equal (and equal to what was sent).  --any-port: the port in
#       "connecting to HOST port P" may differ.  --messages: ACTUAL sent these messages
#       (command-line arguments) instead of EXPECTED's, whose sending lines are replaced
#       by the ones asyncio would log for them.
#   logcmp.py server EXPECTED ACTUAL
#       The same connections in the same order (by first line), each with the same events
#       in the same order: connection accepted, received/sent pairs (every 'sent' repeats
#       the 'received' before it; a run of pairs is compared by its payload concatenation),
#       received EOF, closing.  Logger names EchoServer_HOST_PORT must have the same HOST;
#       the PORTs (peer ports) differ.  "main: starting up on H port P" lines too, P apart.
# Lines of the "asyncio" logger (Python's own debug output, e.g. the selector in use) are
# not the program's and are left out.  Exit status 0 = equal, 1 = different (a diff shown).
import ast
import difflib
import os
import re
import sys


def read_lines(path):
    with open(path, 'rb') as f:
        text = f.read().decode('utf-8', 'surrogateescape')
    return [ln for ln in text.split('\n') if ln and not ln.startswith('asyncio: ')]


def short(x, n=160):
    """repr of x, cut to about n characters."""
    r = repr(x)
    return r if len(r) <= n else r[:n] + '...(%d characters)' % len(r)


def payload(text, where):
    """The bytes of a Python bytes literal as logged, or an error."""
    try:
        v = ast.literal_eval(text)
    except (ValueError, SyntaxError) as e:
        raise SystemExit('%s: not a Python bytes literal: %s (%s)' % (where, short(text), e))
    if not isinstance(v, bytes):
        raise SystemExit('%s: not a bytes literal: %s' % (where, short(text)))
    if repr(v) != text:
        raise SystemExit('%s: %s is not how Python shows these bytes: %s'
                         % (where, short(text), short(repr(v))))
    return v


def client_tokens(path, any_port):
    """(tokens, received bytes, sent bytes) of a client log."""
    toks, got, sent = [], b'', b''
    for i, ln in enumerate(read_lines(path)):
        where = '%s:%d' % (path, i + 1)
        if ln.startswith("EchoClient: received b"):
            got += payload(ln[len('EchoClient: received '):], where)
            if not toks or toks[-1] != '<received bytes>':
                toks.append('<received bytes>')
            continue
        if ln.startswith('EchoClient: sending b'):
            sent += payload(ln[len('EchoClient: sending '):], where)
        if any_port:
            ln = re.sub(r'^(EchoClient: connecting to \S+ port )\d+$', r'\1<port>', ln)
        toks.append(ln)
    return toks, got, sent


def diff(a, b, what_a, what_b):
    sys.stdout.writelines(difflib.unified_diff([x + '\n' for x in a], [x + '\n' for x in b],
                                               what_a, what_b))


def compare_client(args):
    any_port = '--any-port' in args
    args = [a for a in args if a != '--any-port']
    messages = None
    if '--messages' in args:
        k = args.index('--messages')
        messages = [os.fsencode(m) for m in args[k + 1:]]
        args = args[:k]
    exp_path, act_path = args
    exp, exp_got, exp_sent = client_tokens(exp_path, any_port)
    act, act_got, act_sent = client_tokens(act_path, any_port)
    if exp_got != exp_sent:
        print('%s: the reference run did not get back what it sent' % exp_path)
        return 1
    if messages is not None:
        first = next(i for i, t in enumerate(exp) if t.startswith('EchoClient: sending '))
        exp = [t for t in exp if not t.startswith('EchoClient: sending ')]
        exp[first:first] = ['EchoClient: sending %r' % m for m in messages]
        exp_got = b''.join(messages)
    ok = True
    if exp != act:
        print('client log lines differ (received lines collapsed):')
        diff(exp, act, exp_path, act_path)
        ok = False
    if exp_got != act_got:
        print('received payloads differ:\n  expected %s\n  actual   %s'
              % (short(exp_got), short(act_got)))
        ok = False
    if act_got != act_sent:
        print('%s: received %s but sent %s' % (act_path, short(act_got), short(act_sent)))
        ok = False
    return 0 if ok else 1


NAME = re.compile(r'^EchoServer_(.+)_(\d+)$')


def server_conns(path):
    """(main lines, [(host, [tokens], [payloads])] in order of first appearance)."""
    mains, conns, order = [], {}, []
    lines = read_lines(path)
    pending = {}  # connection -> payload of a 'received' waiting for its 'sent'
    for i, ln in enumerate(lines):
        where = '%s:%d' % (path, i + 1)
        name, sep, msg = ln.partition(': ')
        if not sep:
            continue
        if name == 'main':
            mains.append(re.sub(r' port \d+$', ' port <port>', ln))
            continue
        m = NAME.match(name)
        if not m:
            continue  # not an event line (e.g. the server's own messages)
        if name not in conns:
            conns[name] = (m.group(1), [], [])
            order.append(name)
        _, toks, pays = conns[name]
        if name in pending:
            want = pending.pop(name)
            if not msg.startswith('sent b') or payload(msg[5:], where) != want:
                raise SystemExit("%s: %s does not follow 'received %s' with 'sent' of the "
                                 'same bytes' % (where, short(ln), short(want)))
            continue
        if msg.startswith('received b'):
            pending[name] = payload(msg[9:], where)
            if not toks or toks[-1] != '<received/sent bytes>':
                toks.append('<received/sent bytes>')
                pays.append(b'')
            pays[-1] += pending[name]
        else:
            toks.append(msg)
    for name, want in pending.items():
        raise SystemExit("%s: %s: 'received %s' never followed by 'sent'"
                         % (path, name, short(want)))
    return mains, [conns[n] for n in order]


def compare_server(args):
    exp_path, act_path = args
    exp_main, exp = server_conns(exp_path)
    act_main, act = server_conns(act_path)
    ok = True
    if exp_main != act_main:
        print('main lines differ:')
        diff(exp_main, act_main, exp_path, act_path)
        ok = False
    if len(exp) != len(act):
        print('%d connections in %s, %d in %s' % (len(exp), exp_path, len(act), act_path))
        ok = False
    for k, (e, a) in enumerate(zip(exp, act)):
        if e[0] != a[0]:
            print('connection %d: peer host %s, expected %s' % (k + 1, a[0], e[0]))
            ok = False
        if e[1] != a[1]:
            print('connection %d: events differ:' % (k + 1))
            diff(e[1], a[1], exp_path, act_path)
            ok = False
        elif e[2] != a[2]:
            for j, (pe, pa) in enumerate(zip(e[2], a[2])):
                if pe != pa:
                    print('connection %d, data run %d: payloads differ:\n  expected %s\n'
                          '  actual   %s' % (k + 1, j + 1, short(pe), short(pa)))
            ok = False
    return 0 if ok else 1


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in ('client', 'server'):
        print(__doc__ if __doc__ else 'usage: logcmp.py client|server EXPECTED ACTUAL ...')
        return 2
    if sys.argv[1] == 'client':
        return compare_client(sys.argv[2:])
    return compare_server(sys.argv[2:])


sys.exit(main())
