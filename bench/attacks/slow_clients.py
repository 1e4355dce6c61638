#!/usr/bin/env python3
"""How long an HTTP server on 127.0.0.1:PORT holds a connection that gives it nothing.

    slow_clients.py PORT silent|drip [CAP_SECONDS]

silent: connect and send nothing; time until the server closes (end of stream or reset).
drip:   POST /echo with Content-Length 1000000, then one body byte a second; time from the end
        of the head until the server closes.
Gives up after CAP_SECONDS (600).
"""
import select
import socket
import sys
import time

port, mode = int(sys.argv[1]), sys.argv[2]
cap = float(sys.argv[3]) if len(sys.argv) > 3 else 600
s = socket.create_connection(('127.0.0.1', port))
if mode == 'drip':
    s.sendall(b'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n')
started = time.monotonic()
sent = 0
how = 'still open at the cap'
while time.monotonic() - started < cap:
    readable, _, _ = select.select([s], [], [], 1.0)
    if readable:
        try:
            data = s.recv(65536)
        except ConnectionResetError:
            how = 'reset'
            break
        how = f'answered {len(data)} bytes' if data else 'closed (end of stream)'
        break
    if mode == 'drip':
        try:
            s.send(b'x')
            sent += 1
        except OSError as e:
            how = f'send failed: {e}'
            break
print(f'{mode}: {how} after {time.monotonic() - started:.1f} s ({sent} body bytes sent)')
