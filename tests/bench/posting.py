"""What one `@connections` POST costs the broadcaster in CPU: its real publisher (ApiGatewayPublisher.send: boto3
signing, serializing, sending, parsing the answer) against a server that answers 200 and does nothing else, in
a separate process so that only the client's CPU is counted.

Why it matters on AWS: Lambda gives a function CPU in proportion to its memory, one vCPU at 1,769 MB ("Lambda
allocates CPU power in proportion to the amount of memory configured", Configuring Lambda function memory), so
a fan-out of N posts needs at least N x this / (memory / 1,769) seconds of wall time, however many threads post.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[2] / "layers" / "core")]

ONE_VCPU_MB = 1769
_SERVER = """
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
class Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
print(server.server_address[1], flush=True)
server.serve_forever()
"""
# A trade event as the broadcaster sends it (services/realtime.py), ~0.5 KB of JSON.
TRADE_EVENT = {"type": "trade", "ts": "2026-12-03T10:00:00Z", "data": {
    "id": "t-0123456789abcdef", "bot_id": "b-0123456789abcdef", "tick_id": "2026-12-03T10:00",
    "exchange": "luno", "symbol": "BTC/ZAR", "side": "buy", "amount": "0.00123400", "price": "1234567.89",
    "fee": "12.34", "fee_currency": "ZAR", "mode": "paper", "slippage_bps": "3.2", "ts": "2026-12-03T10:00:01Z"}}


def post_cpu_seconds(posts: int = 2000) -> float:
    """CPU seconds one `ApiGatewayPublisher.send` takes in this process (the mean of a long run)."""
    from botfleet.adapters.websocket import ApiGatewayPublisher

    for name, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench")):
        os.environ.setdefault(name, value)  # signed like the real thing; the server does not check
    server = subprocess.Popen([sys.executable, "-c", _SERVER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        publisher = ApiGatewayPublisher(f"http://127.0.0.1:{port}", pool_size=1)
        for _ in range(100):  # warm: the connection, botocore's caches
            publisher.send("Abc123=", TRADE_EVENT)
        began = time.process_time()
        for _ in range(posts):
            publisher.send("Abc123=", TRADE_EVENT)
        return (time.process_time() - began) / posts
    finally:
        server.kill()
        server.wait()


def fan_out_floor_s(posts: int, cpu_per_post_s: float, memory_mb: int, instances: int = 1,
                    posts_per_second: float | None = None) -> float:
    """The least wall time `posts` posts take, spread evenly over `instances` Lambda instances of `memory_mb` that
    each pace themselves at `posts_per_second` (the broadcaster's token bucket, FanOutPolicy): the longer of an
    instance's CPU (its share is memory / 1,769 MB) and its pacing past the bucket's first burst."""
    from botfleet.services.realtime import FanOutPolicy

    each = posts / instances
    cpu = each * cpu_per_post_s / min(1.0, memory_mb / ONE_VCPU_MB)
    if posts_per_second is None:
        return cpu
    burst = FanOutPolicy(posts_per_second=posts_per_second).capacity
    return max(cpu, max(0.0, each - burst) / posts_per_second)


if __name__ == "__main__":
    cpu = post_cpu_seconds()
    print(f"post cpu_ms={cpu * 1000:.3f}; 1,000 posts at least {fan_out_floor_s(1000, cpu, 256):.2f} s at 256 MB, "
          f"{fan_out_floor_s(1000, cpu, ONE_VCPU_MB):.2f} s at {ONE_VCPU_MB} MB")
