"""The registry's signing key fails closed: made once for a register that has never signed, never again."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.utils import timezone

from ippledge.core import business_date
from ippledge.registry import signing, tasks
from ippledge.registry.models import Checkpoint


@pytest.fixture
def key_dir(tmp_path):
    """A data dir of the test's own, and no cached derived keys from another one."""
    old = settings.DATA_DIR
    settings.DATA_DIR = str(tmp_path)
    signing._derived_key_at.cache_clear()
    yield tmp_path
    settings.DATA_DIR = old
    signing._derived_key_at.cache_clear()


def _signed_once():
    Checkpoint.objects.create(date=business_date.today(), seq=0, head="0" * 64, signed_at=timezone.now(),
                              signature="x", public_key=signing.public_key_hex())


@pytest.mark.django_db
def test_a_register_that_never_signed_gets_its_key(key_dir):
    assert not (key_dir / "registry_ed25519.pem").exists()
    assert len(signing.public_key_hex()) == 64
    assert (key_dir / "registry_ed25519.pem").exists()


@pytest.mark.django_db
def test_a_missing_key_after_a_checkpoint_fails_closed(key_dir, anon):
    _signed_once()
    (key_dir / "registry_ed25519.pem").unlink()
    signing._derived_key_at.cache_clear()
    with pytest.raises(signing.SigningKeyMissing):
        signing.sign("anything")
    with pytest.raises(signing.SigningKeyMissing):
        signing.seal("search-certificate", "anything")
    assert not (key_dir / "registry_ed25519.pem").exists()  # and no new key was made
    response = anon.get("/public/registry/checkpoints")
    assert response.status_code == 503
    assert response.data["error"]["code"] == "signing_key_missing"


@pytest.mark.django_db
def test_end_of_day_refuses_to_sign_with_another_key(key_dir, monkeypatch):
    _signed_once()
    other = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (key_dir / "registry_ed25519.pem").write_bytes(other)
    day = business_date.today()
    monkeypatch.setattr(business_date, "real_today", lambda: day)  # the closing day is the real date
    with pytest.raises(RuntimeError, match="differs from the one that signed"):
        tasks.checkpoint(day)
