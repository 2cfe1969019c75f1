"""The registry's Ed25519 signing key, kept in the data directory and created on first use.

Outsiders keep the published public key and the daily checkpoints; a rewritten history no longer
matches a head they hold.  The key is created only for a register that has never signed a checkpoint:
once one is signed, a missing key file (a restore without the data dir, a second machine with its
own data dir) fails closed rather than quietly starting a second key that outsiders would not know."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from ippledge.core.errors import DomainError


class SigningKeyMissing(DomainError):
    status = 503
    code = "signing_key_missing"


def _has_signed() -> bool:
    from .models import Checkpoint  # signing is imported at app load; the model is not ready then

    return Checkpoint.objects.exists()


def _key_path() -> Path:
    return Path(settings.DATA_DIR) / "registry_ed25519.pem"


def private_key() -> Ed25519PrivateKey:
    path = _key_path()
    if not path.exists():
        if _has_signed():
            raise SigningKeyMissing(_(
                "The registry's signing key is missing from the data directory although checkpoints have "
                "been signed with it. Restore registry_ed25519.pem from the backup of the data directory "
                "(docs/deploy.md); the platform will not make a new one."))
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        # Create exclusively so two processes starting together cannot write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def public_key_hex() -> str:
    raw = private_key().public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def sign(message: str) -> str:
    return base64.b64encode(private_key().sign(message.encode())).decode()


def verify_signature(public_hex: str, message: str, signature_b64: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(
            base64.b64decode(signature_b64), message.encode())
    except Exception:
        return False
    return True


def checkpoint_message(date_iso: str, seq: int, head: str) -> str:
    return f"ippledge-registry-checkpoint|{date_iso}|{seq}|{head}"


def _derived_key(purpose: str) -> bytes:
    """A 32-byte key for one purpose, derived from the registry key (one secret to keep, not several)."""
    return _derived_key_at(str(_key_path()), purpose)


@functools.lru_cache(maxsize=64)
def _derived_key_at(path: str, purpose: str) -> bytes:
    # Cached per key file: public reads seal every party they serve.
    raw = private_key().private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                      serialization.NoEncryption())
    return hashlib.sha256(b"ippledge-key|" + purpose.encode() + b"|" + raw).digest()


def seal(purpose: str, message: str) -> str:
    """HMAC-SHA256 (hex) of ``message``: the registry's integrity mark on records it keeps outside the
    journal (search certificates)."""
    return hmac.new(_derived_key("seal|" + purpose), message.encode(), hashlib.sha256).hexdigest()


def encrypt(purpose: str, text: str) -> str:
    """Authenticated encryption (Fernet) of a short text a page must carry without showing it."""
    return Fernet(base64.urlsafe_b64encode(_derived_key("fernet|" + purpose))).encrypt(text.encode()).decode()


def decrypt(purpose: str, token: str, *, max_age: int) -> str | None:
    """The text, or None when the token is forged, altered or older than ``max_age`` seconds."""
    try:
        return Fernet(base64.urlsafe_b64encode(_derived_key("fernet|" + purpose))).decrypt(
            token.encode(), ttl=max_age).decode()
    except (InvalidToken, ValueError):
        return None
