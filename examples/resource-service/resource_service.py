#!/usr/bin/env python3
"""A resource service that answers "which sub-task read this record?".

It serves HTTPS with its own X509-SVID (from the Workload API, via `matryoshka svid fetch`) and
accepts callers that present either
  * an X509-SVID as TLS client certificate (mutual TLS), or
  * a JWT-SVID as `Authorization: Bearer <token>` for the audience --audience,
authorizes them by SPIFFE ID pattern (--allow, shell-style: spiffe://example.org/ci/runner/task/*),
and logs every access, allowed or not, as one JSON line with the caller's full lineage, verified
hop by hop (`matryoshka lineage verify`), so the access log names the task, its runner, pod and
node.

  SPIFFE_ENDPOINT_SOCKET=unix:///run/matryoshka/workload.sock \\
  resource_service.py --listen 127.0.0.1:8443 --allow 'spiffe://example.org/ci/runner/task/*' \\
      --audience records --access-log access.jsonl

Try it from a task:  curl --cert svid.pem --key svid_key.pem --cacert bundle.pem https://localhost:8443/records/42
(the service's entry needs `--dns localhost` for curl's host name check).
"""
import argparse
import fnmatch
import http.server
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

MATRYOSHKA = os.environ.get("MATRYOSHKA") or shutil.which("matryoshka") or "matryoshka"


def run(*arguments, stdin=None):
    result = subprocess.run([MATRYOSHKA, *arguments], input=stdin, capture_output=True, text=True, timeout=30)
    return result.returncode, result.stdout, result.stderr.strip()


class Service:
    def __init__(self, args):
        self.args = args
        self.directory = tempfile.mkdtemp(prefix="resource-service-")
        self.log_lock = threading.Lock()
        code, _, error = run("svid", "fetch", "--write", self.directory)
        if code != 0:
            sys.exit(f"resource-service: cannot get this service's SVID from the Workload API: {error}")
        self.bundle = os.path.join(self.directory, "bundle.pem")

    def tls_context(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(os.path.join(self.directory, "svid.pem"), os.path.join(self.directory, "svid_key.pem"))
        context.load_verify_locations(self.bundle)
        # A client certificate is optional: a caller may use a JWT-SVID instead.
        context.verify_mode = ssl.CERT_OPTIONAL
        return context

    def spiffe_bundle(self):
        """The trust bundle in SPIFFE format (X.509 and JWT keys) from --bundle-url, refreshed
        every 30 s; JWT-SVID lineage needs the JWT keys. Falls back to the X.509 bundle."""
        if not self.args.bundle_url:
            return self.bundle
        path = os.path.join(self.directory, "bundle.json")
        if not os.path.exists(path) or time.time() - os.path.getmtime(path) > 30:
            with urllib.request.urlopen(self.args.bundle_url, timeout=10) as response, open(path + ".tmp", "wb") as file:
                file.write(response.read())
            os.replace(path + ".tmp", path)
        return path

    def lineage(self, credential_path, audience=None):
        """The verified chain of custody of a credential (file), outermost layer first."""
        extra = ["--audience", audience] if audience else []
        code, out, error = run("lineage", "verify", "--bundle", self.spiffe_bundle(), "--json", *extra, credential_path)
        if code != 0:
            return None, error or out.strip()
        try:
            document = json.loads(out)
        except json.JSONDecodeError:
            return None, "lineage verify printed no JSON"
        layers = document.get("lineage", document.get("links", document))
        if not isinstance(layers, list):
            return None, "lineage verify printed no layers"
        keep = ("spiffe_id", "attestor", "selectors", "issued_at", "expires_at")
        return [{key: layer.get(key) for key in keep if key in layer} for layer in layers if isinstance(layer, dict)], None

    def authenticate(self, handler):
        """(spiffe_id, credential kind, lineage, error)."""
        certificate = handler.connection.getpeercert(binary_form=True)
        if certificate:
            peer = handler.connection.getpeercert()
            uris = [value for kind, value in peer.get("subjectAltName", ()) if kind == "URI"]
            if len(uris) != 1 or not uris[0].startswith("spiffe://"):
                return None, "x509", None, "the client certificate is not an X509-SVID"
            with tempfile.NamedTemporaryFile(suffix=".pem", mode="w", delete=False) as file:
                file.write(ssl.DER_cert_to_PEM_cert(certificate))
            try:
                lineage, error = self.lineage(file.name)
            finally:
                os.unlink(file.name)
            return uris[0], "x509", lineage, error
        header = handler.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            token = header[len("Bearer "):].strip()
            # The agent validates it (signature, audience, expiry, revocation).
            code, out, error = run("jwt", "validate", "--audience", self.args.audience, "--json", "-", stdin=token)
            if code != 0:
                return None, "jwt", None, error
            spiffe_id = json.loads(out).get("spiffe_id")
            with tempfile.NamedTemporaryFile(mode="w", delete=False) as file:
                file.write(token)
            try:
                lineage, lineage_error = self.lineage(file.name, audience=self.args.audience)
            finally:
                os.unlink(file.name)
            return spiffe_id, "jwt", lineage, lineage_error
        return None, None, None, "no credential: present an X509-SVID (mutual TLS) or a JWT-SVID (Authorization: Bearer)"

    def log(self, record):
        line = json.dumps(record, sort_keys=True)
        with self.log_lock:
            with open(self.args.access_log, "a") as file:
                file.write(line + "\n")
        print(line, flush=True)


def make_handler(service):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            spiffe_id, kind, lineage, error = service.authenticate(self)
            allowed = spiffe_id is not None and error is None and any(
                fnmatch.fnmatchcase(spiffe_id, pattern) for pattern in service.args.allow)
            reason = error or (None if allowed else f"{spiffe_id} matches no --allow pattern")
            service.log({
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "resource": self.path, "caller": spiffe_id, "credential": kind,
                "lineage": lineage, "decision": "allow" if allowed else "deny", "reason": reason,
            })
            status = 200 if allowed else (401 if spiffe_id is None else 403)
            body = json.dumps({"resource": self.path, "caller": spiffe_id} if allowed else {"error": reason}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            pass  # the access log above is the log

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", default="127.0.0.1:8443", help="HOST:PORT to serve HTTPS on")
    parser.add_argument("--allow", action="append", required=True, help="SPIFFE ID pattern allowed to read (repeatable)")
    parser.add_argument("--audience", default="records", help="the audience JWT-SVIDs must be for")
    parser.add_argument("--bundle-url", help="the server's SPIFFE bundle endpoint (GET /bundle), to verify JWT-SVID lineage")
    parser.add_argument("--access-log", default="access.jsonl", help="where JSON access records are appended")
    args = parser.parse_args()
    # Stop on SIGTERM even if it was ignored by whoever started this process.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    host, _, port = args.listen.rpartition(":")
    service = Service(args)
    server = http.server.ThreadingHTTPServer((host, int(port)), make_handler(service))
    server.socket = service.tls_context().wrap_socket(server.socket, server_side=True)
    print(f"resource-service: serving https://{args.listen}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
