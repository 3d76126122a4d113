#!/usr/bin/env python3
"""An unmodified SPIFFE client (py-spiffe, on grpcio) against a Matryoshka agent.

    workload_api.py fetch SOCKET_URI AUDIENCE
        X509-SVID, X.509 bundles, JWT-SVID for AUDIENCE, JWT bundles; validates the JWT through the
        agent (ValidateJWTSVID) and offline with the fetched JWT bundle. Prints one JSON object.
    workload_api.py header SOCKET_URI
        a raw unary FetchJWTSVID call without, then with, the `workload.spiffe.io` header.
        Prints {"without": {"code", "details"}, "with": {"code", "details"}}.
    workload_api.py stream SOCKET_URI COUNT TIMEOUT
        watches X.509 contexts (stream_x509_contexts) until COUNT different leaf serials have been
        seen or TIMEOUT seconds pass. Prints {"updates": [...], "errors": [...]}.
    workload_api.py escape SOCKET_URI OUT_FILE TIMEOUT
        starts a holder (`hold`) and exits as soon as it holds an X509-SVID, so the holder is
        orphaned: re-parented away from the agent that served it. Prints {"holder_pid": N}.
    workload_api.py hold SOCKET_URI OUT_FILE TIMEOUT
        watches X.509 contexts, says "ready" on stdout at the first one, and writes
        {"updates": [...], "errors": [...]} to OUT_FILE when the stream fails or TIMEOUT passes.

SOCKET_URI is unix:///absolute/path, as py-spiffe requires. Failures print one line on stderr and
exit 1.
"""
import json
import os
import subprocess
import sys
import threading
import time

import grpc
from cryptography.hazmat.primitives import serialization
from spiffe import WorkloadApiClient
from spiffe._proto import workload_pb2
from spiffe.svid.jwt_svid import JwtSvid

TIMEOUT = 30


def fingerprint(certificate):
    return format(certificate.serial_number, "x")


def fetch(socket, audience):
    result = {}
    with WorkloadApiClient(socket_path=socket, default_timeout=TIMEOUT) as client:
        svid = client.fetch_x509_svid()
        public = svid.leaf.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        key_public = svid.private_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        result["x509_svid"] = {
            "spiffe_id": str(svid.spiffe_id),
            "trust_domain": str(svid.spiffe_id.trust_domain),
            "chain_length": len(svid.cert_chain),
            "serial": fingerprint(svid.leaf),
            "key_matches_leaf": public == key_public,
        }
        result["x509_svids"] = [str(s.spiffe_id) for s in client.fetch_x509_svids()]
        context = client.fetch_x509_context()
        result["x509_context_default"] = str(context.default_svid.spiffe_id)
        bundles = client.fetch_x509_bundles()
        result["x509_bundles"] = {
            str(b.trust_domain): sorted(fingerprint(c) for c in b.x509_authorities) for b in bundles.bundles
        }
        # The leaf must be signed by an authority of its trust domain's bundle.
        bundle = bundles.get_bundle_for_trust_domain(svid.spiffe_id.trust_domain)
        issuers = [c for c in bundle.x509_authorities if c.subject == svid.cert_chain[-1].issuer]
        result["x509_issuer_in_bundle"] = bool(issuers)
        if issuers:
            svid.cert_chain[-1].verify_directly_issued_by(issuers[0])

        jwt_svid = client.fetch_jwt_svid(audience={audience})
        result["jwt_svid"] = {
            "spiffe_id": str(jwt_svid.spiffe_id),
            "audience": sorted(jwt_svid.audience),
            "expiry": jwt_svid.expiry,
        }
        jwt_bundles = client.fetch_jwt_bundles()
        result["jwt_bundles"] = {
            str(b.trust_domain): sorted(b.jwt_authorities.keys()) for b in jwt_bundles.bundles
        }
        validated = client.validate_jwt_svid(jwt_svid.token, audience)
        result["validated"] = {"spiffe_id": str(validated.spiffe_id), "audience": sorted(validated.audience)}
        jwt_bundle = jwt_bundles.get_bundle_for_trust_domain(jwt_svid.spiffe_id.trust_domain)
        offline = JwtSvid.parse_and_validate(jwt_svid.token, jwt_bundle, {audience})
        result["validated_offline"] = {"spiffe_id": str(offline.spiffe_id)}
        try:
            client.validate_jwt_svid(jwt_svid.token, audience + "-other")
            result["wrong_audience"] = "accepted"
        except Exception as error:  # py-spiffe wraps the gRPC status
            result["wrong_audience"] = "rejected: " + str(error)
    return result


def header(socket):
    channel = grpc.insecure_channel(socket)
    call = channel.unary_unary(
        "/SpiffeWorkloadAPI/FetchJWTSVID",
        request_serializer=workload_pb2.JWTSVIDRequest.SerializeToString,
        response_deserializer=workload_pb2.JWTSVIDResponse.FromString,
    )
    request = workload_pb2.JWTSVIDRequest(audience=["header-test"])
    result = {}
    for name, metadata in (("without", None), ("with", (("workload.spiffe.io", "true"),))):
        try:
            response = call(request, metadata=metadata, timeout=TIMEOUT)
            result[name] = {"code": "OK", "details": "", "svids": len(response.svids)}
        except grpc.RpcError as error:
            result[name] = {"code": error.code().name, "details": error.details()}
    channel.close()
    return result


def watch(socket, timeout, on_update):
    """Streams X.509 contexts until on_update(updates) returns True, the stream fails or TIMEOUT
    passes; returns {"updates": [...], "errors": [...]}."""
    updates = []
    errors = []
    done = threading.Event()
    lock = threading.Lock()

    def on_success(context):
        leaf = context.default_svid.leaf
        with lock:
            updates.append({
                "spiffe_id": str(context.default_svid.spiffe_id),
                "serial": fingerprint(leaf),
                "not_before": int(leaf.not_valid_before_utc.timestamp()),
                "not_after": int(leaf.not_valid_after_utc.timestamp()),
                "received_at": time.time(),
            })
            if on_update(updates):
                done.set()

    def on_error(error):
        with lock:
            errors.append(str(error))
        done.set()

    with WorkloadApiClient(socket_path=socket) as client:
        handler = client.stream_x509_contexts(on_success=on_success, on_error=on_error, retry_connect=False)
        done.wait(timeout)
        handler.cancel()
    with lock:
        return {"updates": list(updates), "errors": list(errors)}


def stream(socket, count, timeout):
    return watch(socket, timeout, lambda updates: len({update["serial"] for update in updates}) >= count)


def escape(socket, out_path, timeout):
    holder = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "hold", socket, out_path, str(timeout)],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    line = holder.stdout.readline().decode().strip()
    if line != "ready":
        holder.kill()
        raise RuntimeError("the holder did not obtain an X509-SVID: " + (line or "no output"))
    return {"holder_pid": holder.pid}


def hold(socket, out_path, timeout):
    def on_update(updates):
        if len(updates) == 1:
            # The parent exits on this line; nothing more goes to stdout.
            sys.stdout.write("ready\n")
            sys.stdout.flush()
        return False

    result = watch(socket, timeout, on_update)
    with open(out_path + ".tmp", "w") as out:
        json.dump(result, out)
    os.rename(out_path + ".tmp", out_path)


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    command, socket = argv[1], argv[2]
    if command == "fetch":
        output = fetch(socket, argv[3])
    elif command == "header":
        output = header(socket)
    elif command == "stream":
        output = stream(socket, int(argv[3]), float(argv[4]))
    elif command == "escape":
        output = escape(socket, argv[3], float(argv[4]))
    elif command == "hold":
        hold(socket, argv[3], float(argv[4]))
        return
    else:
        raise SystemExit("unknown command " + command)
    print(json.dumps(output, sort_keys=True))


if __name__ == "__main__":
    try:
        main(sys.argv)
    except SystemExit:
        raise
    except Exception as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
