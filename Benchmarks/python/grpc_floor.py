"""The gRPC round-trip floor under a cached fetch, measured by an independent client (grpcio, whose
core is C): FetchX509SVID refused for want of the security header, then served, on one agent socket,
back to back, a new channel every 150 calls. Needs `pip install spiffe` (its generated stubs).

    matryoshka quickstart --data-dir /tmp/qs/data &          # or any agent serving this uid
    python3 Benchmarks/python/grpc_floor.py /tmp/qs/data/agent/workload.sock 3000
"""
import sys
import time

import grpc
from spiffe._proto import workload_pb2, workload_pb2_grpc

# The agent's transport closes a connection after 200 stream resets in 10 s (BENCHMARKS.md).
PER_CHANNEL = 150


def run(sock: str, calls: int, served: bool) -> str:
    samples = []
    while len(samples) < calls:
        # Its own subchannel: grpcio otherwise shares one connection across channels to a target.
        options = [("grpc.use_local_subchannel_pool", 1)]
        with grpc.insecure_channel(f"unix:{sock}", options=options) as channel:
            stub = workload_pb2_grpc.SpiffeWorkloadAPIStub(channel)
            metadata = [("workload.spiffe.io", "true")] if served else None
            for i in range(min(PER_CHANNEL, calls - len(samples)) + 1):
                start = time.perf_counter()
                stream = stub.FetchX509SVID(workload_pb2.X509SVIDRequest(), metadata=metadata)
                try:
                    response = next(stream)
                    if not (served and response.svids):
                        sys.exit("a call without the security header was served")
                except grpc.RpcError as error:
                    if served or error.code() != grpc.StatusCode.INVALID_ARGUMENT:
                        sys.exit(f"unexpected end of a FetchX509SVID: {error.code()} {error.details()}")
                stream.cancel()
                if i > 0:  # the first call on a channel pays for the connection
                    samples.append((time.perf_counter() - start) * 1000)
    samples.sort()

    def pick(q: float) -> float:
        return samples[min(len(samples) - 1, int(q * len(samples)))]

    return f"p50 {pick(0.50):.3f} p99 {pick(0.99):.3f} max {samples[-1]:.3f} ms (n={len(samples)})"


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sock, calls = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 600
    for _ in range(2):
        print("refused", run(sock, calls, served=False))
        print("served ", run(sock, calls, served=True))


if __name__ == "__main__":
    main()
