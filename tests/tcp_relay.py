"""Per-connection TCP relay for QEMU's `guestfwd=...-cmd:` forwarding: QEMU
spawns this for each guest connection with the connection on stdin/stdout
(and stderr), and it relays to a listener on 127.0.0.1 only. If nothing
listens there it exits at once, and the guest sees the connection close
with no answer (what an absent broker looks like to the guest).

Usage: tcp_relay.py PORT
"""

import os
import select
import socket
import sys


def main():
    # stderr is the guest's connection too: never write to it.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    guest = socket.socket(fileno=os.dup(0))
    try:
        host = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    except OSError:
        return
    host.settimeout(None)
    guest.setblocking(True)
    peers = {guest: host, host: guest}
    open_ = {guest, host}
    while open_:
        readable, _, _ = select.select(list(open_), [], [], 120)
        if not readable:
            return
        for s in readable:
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                open_.discard(s)
                try:
                    peers[s].shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                continue
            try:
                peers[s].sendall(data)
            except OSError:
                return


if __name__ == "__main__":
    try:
        main()
    except Exception:  # never let a traceback reach the guest
        pass
