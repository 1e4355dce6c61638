#!/usr/bin/env python3
"""A hostile HTTP server for one client, to try weft::http::Client against.

    hostile_chunked_server.py PORT EXTENSION_BYTES SECONDS

Answers the first request on 127.0.0.1:PORT with a chunked 200 whose chunks are one byte
each, padded with an EXTENSION_BYTES-byte chunk extension (0: none), for SECONDS or until the
client closes; then a last chunk. Run a client at it, e.g.

    hostile_chunked_server.py 18090 4000 5 &
    /usr/bin/time -f '%M KiB' build/release/examples/weft_tutorial_fetch_urls http://127.0.0.1:18090/
"""
import socket
import sys
import time

port, ext, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(('127.0.0.1', port))
listener.listen(8)
client, _ = listener.accept()
client.recv(65536)
client.sendall(b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')
chunk = (b'1;' + b'e' * (ext - 2) if ext > 0 else b'1') + b'\r\nx\r\n'
batch = chunk * max(1, 65536 // len(chunk))
sent = 0
started = time.time()
try:
    while time.time() - started < seconds:
        client.sendall(batch)
        sent += len(batch)
    client.sendall(b'0\r\n\r\n')
    how = 'sent it all'
except OSError as e:
    how = f'the client closed ({e.__class__.__name__})'
print(f'hostile server: {sent / 1e6:.1f} MB in {time.time() - started:.2f} s; {how}', flush=True)
time.sleep(0.5)
