"""Ed25519 signing keys managed by the vault, and offline verification (the only ``cryptography``
import of the package).

Layout of the key folder (``VaultSettings.bundle_key_dir``)::

    signing/<key_id>.key     PKCS#8 PEM private key, mode 0600
    signing/<key_id>.pub     raw public key, base64
    signing/ACTIVE           key id that signs new bundles and promotions
    trusted/<key_id>.pub     public keys of other vaults whose bundles may be imported

A key id is the first 16 hex digits of the sha256 of the raw public key, so it is derived from the
key and cannot be chosen to impersonate another. Rotation adds a key and makes it active; older
keys stay for verification.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ...errors import InvalidInputError, NotFoundError
from .errors import SignatureInvalidError, UntrustedKeyError

ALGORITHM = "ed25519"
_KEY_ID_RE = re.compile(r"^[0-9a-f]{16}$")


def key_id_of(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


def decode_public_key(text: str) -> bytes:
    """A base64 raw Ed25519 public key (32 bytes). Raises InvalidInputError."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInputError("A public key must be base64 of 32 raw Ed25519 bytes.") from None
    if len(raw) != 32:
        raise InvalidInputError("A public key must be base64 of 32 raw Ed25519 bytes.")
    return raw


@dataclass(frozen=True)
class Signature:
    key_id: str
    signature: str  # base64
    algorithm: str = ALGORITHM

    def to_dict(self) -> dict[str, str]:
        return {"algorithm": self.algorithm, "key_id": self.key_id, "signature": self.signature}

    @classmethod
    def from_dict(cls, d: object) -> Signature:
        if not isinstance(d, dict):
            raise SignatureInvalidError("A signature must be an object.")
        key_id, sig, alg = d.get("key_id"), d.get("signature"), d.get("algorithm")
        if alg != ALGORITHM or not isinstance(key_id, str) or not _KEY_ID_RE.match(key_id):
            raise SignatureInvalidError("Unsupported or malformed signature.")
        if not isinstance(sig, str) or len(sig) > 200:
            raise SignatureInvalidError("Malformed signature value.")
        return cls(key_id, sig, alg)


def verify_with(public_raw: bytes, data: bytes, signature: Signature) -> None:
    """Check ``signature`` over ``data`` with one public key. Raises SignatureInvalidError."""
    if key_id_of(public_raw) != signature.key_id:
        raise SignatureInvalidError("The signature names another key than the one given.")
    try:
        sig = base64.b64decode(signature.signature, validate=True)
        Ed25519PublicKey.from_public_bytes(public_raw).verify(sig, data)
    except (InvalidSignature, binascii.Error, ValueError):
        raise SignatureInvalidError(
            f"Signature by key {signature.key_id} does not match the signed content."
        ) from None


class KeyRing:
    """The vault's signing keys and the public keys it trusts, in one folder."""

    def __init__(self, folder: str | Path) -> None:
        self._root = Path(folder)
        self._signing = self._root / "signing"
        self._trusted = self._root / "trusted"

    # -- own keys --
    def _ensure(self) -> str:
        active = self._signing / "ACTIVE"
        if active.exists():
            return active.read_text().strip()
        return self.rotate()

    def rotate(self) -> str:
        """Create a new signing key and make it the active one; returns its id."""
        self._signing.mkdir(mode=0o700, parents=True, exist_ok=True)
        private = Ed25519PrivateKey.generate()
        public_raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        key_id = key_id_of(public_raw)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path = self._signing / f"{key_id}.key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        (self._signing / f"{key_id}.pub").write_text(base64.b64encode(public_raw).decode())
        tmp = self._signing / f"ACTIVE.{os.getpid()}"
        tmp.write_text(key_id)
        os.replace(tmp, self._signing / "ACTIVE")
        return key_id

    @property
    def active_key_id(self) -> str:
        return self._ensure()

    def sign(self, data: bytes) -> Signature:
        key_id = self._ensure()
        pem = (self._signing / f"{key_id}.key").read_bytes()
        private = serialization.load_pem_private_key(pem, password=None)
        assert isinstance(private, Ed25519PrivateKey)
        return Signature(key_id, base64.b64encode(private.sign(data)).decode())

    def own_keys(self) -> dict[str, bytes]:
        """Public keys of every signing key this vault has had (id → raw)."""
        self._ensure()
        return {p.stem: decode_public_key(p.read_text()) for p in self._signing.glob("*.pub")}

    # -- trust --
    def trust(self, public_key_b64: str) -> str:
        """Register another vault's public key as trusted for imports; returns its id."""
        raw = decode_public_key(public_key_b64)
        key_id = key_id_of(raw)
        self._trusted.mkdir(mode=0o700, parents=True, exist_ok=True)
        (self._trusted / f"{key_id}.pub").write_text(base64.b64encode(raw).decode())
        return key_id

    def untrust(self, key_id: str) -> None:
        path = self._trusted / f"{key_id}.pub"
        if not _KEY_ID_RE.match(key_id) or not path.exists():
            raise NotFoundError(f"No trusted key {key_id[:20]!r}.")
        path.unlink()

    def trusted_keys(self) -> dict[str, bytes]:
        out = {p.stem: decode_public_key(p.read_text()) for p in self._trusted.glob("*.pub")}
        out.update(self.own_keys())
        return out

    def verify(
        self, data: bytes, signature: Signature, extra: dict[str, bytes] | None = None
    ) -> None:
        """Verify against own and trusted keys (plus ``extra``). Raises UntrustedKeyError,
        SignatureInvalidError."""
        keys = {**self.trusted_keys(), **(extra or {})}
        public = keys.get(signature.key_id)
        if public is None:
            raise UntrustedKeyError(
                f"Bundle is signed by key {signature.key_id}, which this vault does not trust: "
                "register the exporter's public key (bundle trust) or pass it explicitly.",
                key_id=signature.key_id,
            )
        verify_with(public, data, signature)
