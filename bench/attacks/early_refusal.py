#!/usr/bin/env python3
"""Bytes that can never start a valid request, sent to an HTTP server on 127.0.0.1:PORT.

    early_refusal.py PORT

For each case (a TLS ClientHello on the plain port, a NUL byte, an unsupported version, a
Content-Length overflow before the head ends) prints the first bytes of the answer and how
long it took: a strict server answers 400 (505) at once instead of waiting for a line end or
its header timeout.
"""
import socket
import sys
import time

port = int(sys.argv[1])
cases = [
    ('TLS ClientHello', b'\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03' + b'Z' * 32),
    ('NUL byte', b'\x00'),
    ('GET / HTTP/5.6 and CRLF', b'GET / HTTP/5.6\r\n'),
    ('Content-Length overflow, head unfinished',
     b'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999\r\n'),
]
for name, payload in cases:
    s = socket.create_connection(('127.0.0.1', port))
    s.settimeout(15)
    started = time.perf_counter()
    s.sendall(payload)
    try:
        answer = s.recv(100)
    except socket.timeout:
        answer = b'(no answer in 15 s)'
    print(f'{name}: {answer[:25]!r} after {time.perf_counter() - started:.3f} s')
    s.close()
