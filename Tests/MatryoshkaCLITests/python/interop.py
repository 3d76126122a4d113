#!/usr/bin/env python3
"""Independent SPIFFE counterparts for the interop tests: PyJWT and Python `cryptography`.

    interop.py make-jwt DIR                   keys, jwks.json and tokens.json (name -> token) in DIR
    interop.py spiffe-bundle CERTS.pem OUT    a SPIFFE bundle (x509-svid entries) for the certificates
    interop.py verify-jwt JWKS TOKENFILE AUD  verify our token with PyJWT; print JSON
    interop.py verify-x509 BUNDLE CHAIN       verify our X509-SVID with cryptography's verifier; print JSON
    interop.py check-spiffe-bundle JSON       read our SPIFFE bundle; print JSON

Failures print one line on stderr and exit 1.
"""
import base64
import datetime
import hashlib
import json
import os
import sys
import time

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import verification
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

SPIFFE_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"]
SUBJECT = "spiffe://example.org/workload"
AUDIENCE = "spiffe://example.org/service"


def public_jwk(key, **members):
    public = key.public_key() if hasattr(key, "public_key") else key
    algorithm = ECAlgorithm if isinstance(public, ec.EllipticCurvePublicKey) else RSAAlgorithm
    document = algorithm.to_jwk(public, as_dict=True)
    document.update(members)
    return document


def make_jwt(directory):
    es256 = ec.generate_private_key(ec.SECP256R1())
    es384 = ec.generate_private_key(ec.SECP384R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = {
        "keys": [
            public_jwk(es256, kid="py-es256", use="jwt-svid"),
            public_jwk(es384, kid="py-es384"),
            public_jwk(rsa_key, kid="py-rsa", use="jwt-svid"),
        ]
    }
    now = int(time.time())

    def claims(**overrides):
        payload = {"sub": SUBJECT, "aud": [AUDIENCE], "exp": now + 300, "iat": now, "custom": {"team": "ci"}}
        payload.update(overrides)
        return {k: v for k, v in payload.items() if v is not None}

    def sign(key, alg, kid, payload=None, headers=None):
        header = {"kid": kid} if kid else {}
        header.update(headers or {})
        return jwt.encode(payload or claims(), key, algorithm=alg, headers=header or None)

    tokens = {
        "es256": sign(es256, "ES256", "py-es256"),
        "es384": sign(es384, "ES384", "py-es384"),
        "rs256": sign(rsa_key, "RS256", "py-rsa"),
        "ps256": sign(rsa_key, "PS256", "py-rsa"),
        "rs512": sign(rsa_key, "RS512", "py-rsa"),
        "aud_string": sign(es256, "ES256", "py-es256", claims(aud=AUDIENCE)),
        "alg_none": jwt.encode(claims(), None, algorithm="none", headers={"kid": "py-es256"}),
        "hs256": sign(b"k" * 32, "HS256", "py-es256"),
        "wrong_audience": sign(es256, "ES256", "py-es256", claims(aud=["spiffe://example.org/other"])),
        "expired": sign(es256, "ES256", "py-es256", claims(exp=now - 3600, iat=now - 7200)),
        "not_yet_valid": sign(es256, "ES256", "py-es256", claims(nbf=now + 3600)),
        "missing_kid": sign(es256, "ES256", None),
        "unknown_kid": sign(es256, "ES256", "nobody"),
        "missing_exp": sign(es256, "ES256", "py-es256", claims(exp=None)),
        "sub_not_spiffe": sign(es256, "ES256", "py-es256", claims(sub="workload@example.org")),
        "typ_at_jwt": sign(es256, "ES256", "py-es256", headers={"typ": "at+jwt"}),
        "es384_with_p256_key": sign(es384, "ES384", "py-es256"),
    }
    header, payload, signature = tokens["es256"].split(".")
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    tokens["tampered"] = ".".join([header, payload, signature[:middle] + flipped + signature[middle + 1:]])

    with open(os.path.join(directory, "jwks.json"), "w") as f:
        json.dump(jwks, f, indent=2)
    with open(os.path.join(directory, "tokens.json"), "w") as f:
        json.dump(tokens, f, indent=2)


def spiffe_bundle(certificates_path, output):
    with open(certificates_path, "rb") as f:
        certificates = x509.load_pem_x509_certificates(f.read())
    keys = []
    for certificate in certificates:
        keys.append(public_jwk(certificate.public_key(), use="x509-svid",
                               x5c=[base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()]))
    with open(output, "w") as f:
        json.dump({"spiffe_sequence": 7, "spiffe_refresh_hint": 60, "keys": keys}, f, indent=2)


def thumbprint(jwk):
    """RFC 7638: required members only, lexicographic order, no whitespace, SHA-256, base64url."""
    required = {"EC": ["crv", "kty", "x", "y"], "RSA": ["e", "kty", "n"]}[jwk["kty"]]
    canonical = json.dumps({k: jwk[k] for k in required}, sort_keys=True, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).decode().rstrip("=")


def verify_jwt(jwks_path, token_path, audience):
    with open(jwks_path) as f:
        document = json.load(f)
    with open(token_path) as f:
        token = f.read().strip()
    header = jwt.get_unverified_header(token)
    if header.get("alg") not in SPIFFE_ALGORITHMS:
        fail(f"alg {header.get('alg')} not allowed")
    matches = [k for k in document["keys"] if k.get("kid") == header.get("kid") and k.get("use", "jwt-svid") == "jwt-svid"]
    if len(matches) != 1:
        fail(f"kid {header.get('kid')} not found exactly once")
    key = jwt.PyJWK(matches[0], algorithm=header["alg"])
    claims = jwt.decode(token, key.key, algorithms=[header["alg"]], audience=audience,
                        options={"require": ["sub", "aud", "exp"]})
    print(json.dumps({"sub": claims["sub"], "aud": claims["aud"], "alg": header["alg"], "kid": header["kid"],
                      "typ": header.get("typ"), "thumbprint": thumbprint(matches[0])}))


def verify_x509(bundle_path, chain_path):
    with open(bundle_path, "rb") as f:
        roots = x509.load_pem_x509_certificates(f.read())
    with open(chain_path, "rb") as f:
        chain = x509.load_pem_x509_certificates(f.read())
    verifier = (verification.PolicyBuilder().store(verification.Store(roots))
                .time(datetime.datetime.now(datetime.timezone.utc)).build_client_verifier())
    verified = verifier.verify(chain[0], chain[1:])
    uris = [name.value for name in verified.subjects or [] if isinstance(name, x509.UniformResourceIdentifier)]
    print(json.dumps({"uris": uris, "chain": len(verified.chain)}))


def check_spiffe_bundle(path):
    with open(path) as f:
        document = json.load(f)
    x509_count, jwt_kids = 0, []
    for entry in document["keys"]:
        key = jwt.PyJWK(entry).key
        if entry["use"] == "x509-svid":
            if len(entry["x5c"]) != 1:
                fail("x5c must hold exactly one certificate")
            certificate = x509.load_der_x509_certificate(base64.b64decode(entry["x5c"][0]))
            der = serialization.Encoding.DER
            spki = serialization.PublicFormat.SubjectPublicKeyInfo
            if certificate.public_key().public_bytes(der, spki) != key.public_bytes(der, spki):
                fail("x5c certificate key differs from the JWK")
            x509_count += 1
        elif entry["use"] == "jwt-svid":
            if not entry.get("kid"):
                fail("jwt-svid key without kid")
            jwt_kids.append(entry["kid"])
    print(json.dumps({"x509": x509_count, "jwt": jwt_kids, "sequence": document.get("spiffe_sequence"),
                      "refresh_hint": document.get("spiffe_refresh_hint")}))


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def main():
    command, arguments = sys.argv[1], sys.argv[2:]
    try:
        {
            "make-jwt": make_jwt,
            "spiffe-bundle": spiffe_bundle,
            "verify-jwt": verify_jwt,
            "verify-x509": verify_x509,
            "check-spiffe-bundle": check_spiffe_bundle,
        }[command](*arguments)
    except SystemExit:
        raise
    except Exception as error:  # one line, for the test's failure message
        fail(f"{type(error).__name__}: {error}")


if __name__ == "__main__":
    main()
