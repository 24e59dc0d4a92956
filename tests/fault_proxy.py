"""An HTTP/1.1 proxy on 127.0.0.1 between the guest (through tcp_relay.py)
and the key broker that injects one fault per planned request, then
forwards faithfully: the broker's answers garbled, oversized, truncated,
dripped slowly or dropped, or a hook run after a real answer (a test kills
the broker there).

The guest's KBS client sends one request per connection and reads until
the answer is complete, so the proxy reads one request, answers it and
closes. Every request is recorded in `events` as (method, path, action).
"""

import socket
import threading
import time

GARBAGE = b"<html>\x00\xff not JSON {{{"


def read_request(conn):
    """(head bytes, method, path, body) of one request, or None."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    method, path, _ = lines[0].decode().split(" ", 2)
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head, method, path, body


def read_response(sock):
    """(head bytes, body) of the upstream's answer to a `Connection: close` request."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


class FaultProxy:
    """Listens on a free 127.0.0.1 port; `plan` is a list of (path substring,
    action) taken in order: the first request whose path contains the next
    entry's substring gets its action. Actions: "garbage", "oversized",
    "truncated", "slow", "drop", or a callable run after the real answer."""

    def __init__(self, upstream_port, plan):
        self.upstream_port = upstream_port
        self.plan = list(plan)
        self.events = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _next_action(self, path):
        with self.lock:
            if self.plan and self.plan[0][0] in path:
                return self.plan.pop(0)[1]
        return None

    def _upstream(self, head, body):
        lines = [l for l in head.split(b"\r\n") if not l.lower().startswith(b"connection:")]
        up = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30)
        up.sendall(b"\r\n".join(lines) + b"\r\nConnection: close\r\n\r\n" + body)
        answer = read_response(up)
        up.close()
        return answer

    def _one(self, conn):
        try:
            request = read_request(conn)
            if request is None:
                return
            head, method, path, body = request
            action = self._next_action(path)
            with self.lock:
                self.events.append((method, path, action if isinstance(action, str) or action is None
                                    else "hook"))
            if action == "drop":
                return
            if action == "garbage":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: "
                             b"kbs-session-id=garbage\r\nContent-Length: %d\r\n\r\n" % len(GARBAGE)
                             + GARBAGE)
                return
            if action == "oversized":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n" + b"x" * 65536)
                return
            rhead, rbody = self._upstream(head, body)
            if action == "truncated":
                conn.sendall(rhead + b"\r\n\r\n" + rbody[: len(rbody) // 2])
                return
            if action == "slow":  # past the guest's 20 s response timeout
                conn.sendall(rhead + b"\r\n\r\n")
                for b in rbody[:40]:
                    conn.sendall(bytes([b]))
                    time.sleep(1)
                return
            conn.sendall(rhead + b"\r\n\r\n" + rbody)
            if callable(action):
                action()
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.listener.close()
