#!/usr/bin/env python3
"""Reads a Matryoshka server's HTTP endpoint as an independent client would.

    http_endpoints.py BASE_URL BUNDLE_PEM BUNDLE_OUT

GETs /health, /ready, /bundle (saved to BUNDLE_OUT) and /metrics (and an unknown path), parses the SPIFFE bundle (JWKS with
x509-svid and jwt-svid keys) with `cryptography`, compares its X.509 authorities with BUNDLE_PEM
(from `server bundle show`), and checks /metrics against the Prometheus text format. Prints one
JSON object.
"""
import base64
import json
import re
import sys
import urllib.error
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import serialization

TIMEOUT = 30
METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(rf"^({METRIC_NAME})(\{{.*\}})? (\S+)( \d+)?$")
COMMENT = re.compile(rf"^# (HELP|TYPE) ({METRIC_NAME}) ?(.*)$")


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def der_fingerprint(certificate):
    return certificate.public_bytes(serialization.Encoding.DER).hex()


def check_bundle(body, pem_path):
    document = json.loads(body)
    x509_authorities = []
    jwt_keys = []
    for key in document["keys"]:
        if key.get("use") == "x509-svid":
            assert len(key["x5c"]) == 1, "an x509-svid key must hold exactly one certificate"
            certificate = x509.load_der_x509_certificate(base64.b64decode(key["x5c"][0]))
            constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
            uris = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
                x509.UniformResourceIdentifier)
            x509_authorities.append({"fingerprint": der_fingerprint(certificate), "ca": constraints.ca, "uris": uris})
        elif key.get("use") == "jwt-svid":
            assert key.get("kid"), "a jwt-svid key must have a kid"
            jwt_keys.append({"kid": key["kid"], "kty": key["kty"]})
    with open(pem_path, "rb") as handle:
        expected = sorted(der_fingerprint(c) for c in x509.load_pem_x509_certificates(handle.read()))
    return {
        "sequence": document.get("spiffe_sequence"),
        "refresh_hint": document.get("spiffe_refresh_hint"),
        "x509_authorities": x509_authorities,
        "jwt_keys": jwt_keys,
        "matches_bundle_show": sorted(a["fingerprint"] for a in x509_authorities) == expected,
    }


def check_metrics(body):
    problems = []
    families = set()
    samples = 0
    for line in body.decode("utf-8").splitlines():
        if not line.strip():
            continue
        comment = COMMENT.match(line)
        if comment:
            if comment.group(1) == "TYPE":
                families.add(comment.group(2))
            continue
        if line.startswith("#"):
            continue
        sample = SAMPLE.match(line)
        if not sample:
            problems.append(line)
            continue
        try:
            float(sample.group(3))
        except ValueError:
            problems.append(line)
            continue
        samples += 1
    return {"families": sorted(families), "samples": samples, "invalid_lines": problems[:10]}


def main(base, pem_path, bundle_out):
    result = {}
    for name in ("health", "ready"):
        status, content_type, body = get(base + "/" + name)
        result[name] = {"status": status, "body": body.decode("utf-8", "replace")}
    status, content_type, body = get(base + "/bundle")
    result["bundle"] = {"status": status, "content_type": content_type}
    if status == 200:
        with open(bundle_out, "wb") as handle:
            handle.write(body)
        result["bundle"].update(check_bundle(body, pem_path))
    status, content_type, body = get(base + "/metrics")
    result["metrics"] = {"status": status, "content_type": content_type}
    if status == 200:
        result["metrics"].update(check_metrics(body))
    status, _, _ = get(base + "/no-such-endpoint")
    result["unknown"] = {"status": status}
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    try:
        main(sys.argv[1], sys.argv[2], sys.argv[3])
    except Exception as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
