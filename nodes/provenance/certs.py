"""Signing credentials for C2PA manifests: a studio certificate, or a local test CA.

A studio passes its own certificate chain (PEM: the signing certificate first, then intermediates) and
private key. For tests and offline demos ``make_test_ca`` creates a local CA and a signing certificate
issued by it (ECDSA P-256 / ES256; key usage digitalSignature; extended key usage emailProtection and
documentSigning, which C2PA accepts for claim signing). Its output validates as "trusted" only for a
verifier given the test CA as a trust anchor (``talkinghead verify --trust DIR/ca.pem``).
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from ...runtime.atomic import atomic_write_bytes
from ...runtime.errors import BadInputError, UsageError

ENV_CERT = "TALKINGHEAD_SIGN_CERT"
ENV_KEY = "TALKINGHEAD_SIGN_KEY"
ENV_TRUST = "TALKINGHEAD_TRUST_ANCHORS"
DOCUMENT_SIGNING_OID = "1.3.6.1.5.5.7.3.36"  # id-kp-documentSigning (RFC 9336)


@dataclass(frozen=True)
class SigningCredentials:
    """A certificate chain + private key to sign manifests with.

    Attributes:
        cert_chain: PEM bytes, signing certificate first.
        private_key: PEM bytes (PKCS#8 or traditional), unencrypted.
        alg: C2PA algorithm name: "es256" | "es384" | "es512" | "ps256" | "ed25519" (from the key type).
        where: where they came from (for messages and the manifest's record).
    """

    cert_chain: bytes
    private_key: bytes
    alg: str
    where: str = ""

    @classmethod
    def load(cls, cert_path: str | os.PathLike, key_path: str | os.PathLike) -> SigningCredentials:
        """Read a PEM chain and key; UsageError naming the file when unreadable or mismatched."""
        cert_path, key_path = Path(cert_path), Path(key_path)
        try:
            chain, key = cert_path.read_bytes(), key_path.read_bytes()
        except OSError as exc:
            raise UsageError(f"{exc.filename}: cannot read signing credentials ({exc.strerror})") from exc
        return cls(chain, key, key_algorithm(key, key_path, chain, cert_path), str(cert_path))

    @classmethod
    def from_env(cls) -> SigningCredentials | None:
        """From $TALKINGHEAD_SIGN_CERT and $TALKINGHEAD_SIGN_KEY, or None when either is unset."""
        cert, key = os.environ.get(ENV_CERT), os.environ.get(ENV_KEY)
        return cls.load(cert, key) if cert and key else None

    def subject(self) -> str:
        """The signing certificate's subject (RFC 4514 string)."""
        from cryptography import x509

        return x509.load_pem_x509_certificates(self.cert_chain)[0].subject.rfc4514_string()


def key_algorithm(key_pem: bytes, key_path: str | os.PathLike, chain_pem: bytes,
                  cert_path: str | os.PathLike) -> str:
    """The C2PA signing algorithm for a PEM key, after checking it matches the chain's first certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{key_path}: not an unencrypted PEM private key ({exc})") from exc
    try:
        cert = x509.load_pem_x509_certificates(chain_pem)[0]
    except ValueError as exc:
        raise UsageError(f"{cert_path}: not a PEM certificate chain ({exc})") from exc
    raw = serialization.PublicFormat.SubjectPublicKeyInfo
    if (cert.public_key().public_bytes(serialization.Encoding.DER, raw)
            != key.public_key().public_bytes(serialization.Encoding.DER, raw)):
        raise UsageError(f"{key_path}: the private key does not belong to the first certificate of {cert_path}")
    if isinstance(key, ec.EllipticCurvePrivateKey):
        algs = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name not in algs:
            raise UsageError(f"{key_path}: EC curve {key.curve.name} is not one C2PA signs with (P-256/384/521)")
        return algs[key.curve.name]
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise UsageError(f"{key_path}: unsupported key type {type(key).__name__} (use EC P-256, RSA or Ed25519)")


def _name(common: str, org: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _key_usage(signing: bool):
    from cryptography import x509

    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=not signing,
                         crl_sign=not signing, encipher_only=False, decipher_only=False)


def make_test_ca(folder: str | os.PathLike, org: str = "talkinghead local test",
                 days: int = 825) -> dict[str, Path]:
    """Create ``ca.pem`` (trust anchor), ``signer.pem`` (signing cert + CA) and ``signer.key`` in ``folder``.

    Not a studio certificate: manifests it signs say so in their issuer name. The CA's private key is
    not kept (nothing else is ever issued from it). Existing files are replaced.

    Returns:
        {"ca": ..., "cert": ..., "key": ...} paths.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

    folder = Path(folder)
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{org} CA", org)
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now)
          .not_valid_after(now + dt.timedelta(days=days + 1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(_key_usage(signing=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, ObjectIdentifier(DOCUMENT_SIGNING_OID)])
    leaf = (x509.CertificateBuilder().subject_name(_name(f"{org} signer", org)).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(signing=True), critical=True)
            .add_extension(eku, critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    paths = {"ca": folder / "ca.pem", "cert": folder / "signer.pem", "key": folder / "signer.key"}
    atomic_write_bytes(paths["ca"], ca.public_bytes(pem))
    atomic_write_bytes(paths["cert"], leaf.public_bytes(pem) + ca.public_bytes(pem))
    atomic_write_bytes(paths["key"], key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    os.chmod(paths["key"], 0o600)
    return paths


def trust_anchors(paths: list[str | os.PathLike] | None = None) -> str:
    """PEM text of the trust anchors: ``paths``, else $TALKINGHEAD_TRUST_ANCHORS (os.pathsep-separated), else ""."""
    if not paths:
        env = os.environ.get(ENV_TRUST, "")
        paths = [p for p in env.split(os.pathsep) if p]
    texts = []
    for path in paths:
        try:
            texts.append(Path(path).read_text(encoding="ascii"))
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInputError(f"cannot read trust anchors ({exc})", path) from exc
    return "".join(texts)
