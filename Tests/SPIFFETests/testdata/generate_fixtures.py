#!/usr/bin/env python3
"""Regenerates the bundle fixtures in this directory with Python `cryptography` and PyJWT,
an implementation independent of ours. Run once; the outputs are committed.

    python3 generate_fixtures.py

Each file is named by the case it exercises (`jwks_missing_kid.json` breaks the kid rule).
"""
import base64
import copy
import datetime
import json
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(os.path.join(HERE, name), mode) as f:
        f.write(data)


def write_json(name, document):
    write(name, json.dumps(document, indent=2, sort_keys=True) + "\n")


def root(common_name, key, trust_domain="example.org"):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc))
        .not_valid_after(datetime.datetime(2120, 1, 1, tzinfo=datetime.timezone.utc))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(f"spiffe://{trust_domain}")]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def jwk(key, **members):
    public = key.public_key()
    algorithm = ECAlgorithm if isinstance(public, ec.EllipticCurvePublicKey) else RSAAlgorithm
    document = algorithm.to_jwk(public, as_dict=True)
    document.update(members)
    return document


def x509_jwk(cert, **members):
    """A SPIFFE bundle X.509 authority: the certificate's public key plus `x5c` with its DER."""
    public = cert.public_key()
    algorithm = ECAlgorithm if isinstance(public, ec.EllipticCurvePublicKey) else RSAAlgorithm
    document = algorithm.to_jwk(public, as_dict=True)
    document.update(use="x509-svid", x5c=[base64.b64encode(der(cert)).decode()])
    document.update(members)
    return document


def main():
    ec256 = ec.generate_private_key(ec.SECP256R1())
    ec384 = ec.generate_private_key(ec.SECP384R1())
    rsa2048 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa1024 = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    root_ec = root("Fixture Root EC", ec256)
    root_rsa = root("Fixture Root RSA", rsa2048)

    # X.509 bundles.
    write("x509bundle_two_roots.pem", pem(root_ec) + pem(root_rsa))
    write("x509bundle_two_roots.der", der(root_ec) + der(root_rsa))
    write("x509bundle_one_root.der", der(root_ec))
    write("x509bundle_truncated.der", der(root_ec)[:100])
    key_pem = ec256.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    write("x509bundle_private_key_block.pem", pem(root_ec) + key_pem)
    write("x509bundle_unterminated.pem", pem(root_ec).rsplit("-----END", 1)[0])

    # JWKS documents (JWT bundles).
    valid_keys = [
        jwk(ec256, kid="ec-p256"),
        jwk(ec384, kid="ec-p384", use="jwt-svid"),
        jwk(rsa2048, kid="rsa-2048"),
        jwk(ec256, kid="encryption-key", use="enc"),  # not a JWT authority: skipped
    ]
    write_json("jwks_valid.json", {"keys": valid_keys})
    write_json("jwks_missing_kid.json", {"keys": [jwk(ec256, kid="ec-p256"), jwk(ec384)]})
    write_json("jwks_duplicate_kid.json", {"keys": [jwk(ec256, kid="same"), jwk(ec384, kid="same")]})
    write_json("jwks_unsupported_kty.json", {"keys": [{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}]})
    write_json(
        "jwks_unsupported_crv.json",
        {"keys": [{**jwk(ec256, kid="k1"), "crv": "secp256k1"}]},
    )
    write_json(
        "jwks_okp_key.json",
        {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]},
    )
    bad = jwk(ec256, kid="short-x")
    bad["x"] = base64.urlsafe_b64encode(base64.urlsafe_b64decode(bad["x"] + "==")[:31]).decode().rstrip("=")
    write_json("jwks_bad_coordinates.json", {"keys": [bad]})
    off_curve = jwk(ec256, kid="off-curve")
    y = bytearray(base64.urlsafe_b64decode(off_curve["y"] + "=="))
    y[-1] ^= 0x01
    off_curve["y"] = base64.urlsafe_b64encode(bytes(y)).decode().rstrip("=")
    write_json("jwks_point_not_on_curve.json", {"keys": [off_curve]})
    not_base64 = jwk(ec256, kid="not-base64")
    not_base64["x"] = "***"
    write_json("jwks_coordinates_not_base64.json", {"keys": [not_base64]})
    write_json("jwks_rsa_1024.json", {"keys": [jwk(rsa1024, kid="rsa-1024")]})
    write_json("jwks_no_keys.json", {"spiffe_refresh": 1})
    write("jwks_not_json.json", '{"keys": [\n')
    write_json("jwks_keys_not_array.json", {"keys": "none"})

    # SPIFFE bundles.
    write_json(
        "spiffebundle_valid.json",
        {
            "spiffe_sequence": 42,
            "spiffe_refresh_hint": 300,
            "keys": [
                x509_jwk(root_ec),
                x509_jwk(root_rsa),
                jwk(ec256, kid="ec-p256", use="jwt-svid"),
                jwk(rsa2048, kid="rsa-2048", use="jwt-svid"),
                jwk(ec384, kid="future", use="some-future-use"),  # unknown use: ignored
            ],
        },
    )
    write_json("spiffebundle_missing_kid.json", {"keys": [jwk(ec256, use="jwt-svid")]})
    write_json(
        "spiffebundle_duplicate_kid.json",
        {"keys": [jwk(ec256, kid="same", use="jwt-svid"), jwk(ec384, kid="same", use="jwt-svid")]},
    )
    two = x509_jwk(root_ec)
    two["x5c"].append(base64.b64encode(der(root_rsa)).decode())
    write_json("spiffebundle_x5c_two_certs.json", {"spiffe_sequence": 1, "keys": [two]})
    missing = x509_jwk(root_ec)
    del missing["x5c"]
    write_json("spiffebundle_x5c_missing.json", {"spiffe_sequence": 1, "keys": [missing]})
    garbage = x509_jwk(root_ec)
    garbage["x5c"] = [base64.b64encode(b"not a certificate").decode()]
    write_json("spiffebundle_x5c_not_certificate.json", {"spiffe_sequence": 1, "keys": [garbage]})
    only_x509 = x509_jwk(root_ec)
    write_json("spiffebundle_x509_only.json", {"keys": [only_x509]})


if __name__ == "__main__":
    main()
