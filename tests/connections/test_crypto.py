"""Token encryption at rest: sealed format, tamper detection, key file permissions, rotation across processes."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from calsync.crypto import KeyFile, TokenCipher
from calsync.errors import ConfigurationError


def test_round_trip_hides_the_plaintext(tmp_path: Path) -> None:
    """A sealed token opens to the original and does not contain it."""
    cipher = TokenCipher.for_data_dir(tmp_path)
    sealed = cipher.encrypt("ya29.secret-access-token")
    assert "ya29" not in sealed and "secret" not in sealed
    assert sealed.startswith(f"cs1:{cipher.primary}:")
    assert cipher.decrypt(sealed) == "ya29.secret-access-token"


def test_key_file_is_owner_only(tmp_path: Path) -> None:
    """The key file created on first run is readable by its owner alone."""
    TokenCipher.for_data_dir(tmp_path)
    mode = stat.S_IMODE((tmp_path / "token-keys.json").stat().st_mode)
    assert mode == 0o600


def test_tampering_is_detected(tmp_path: Path) -> None:
    """Flipping one character of a sealed token makes decryption fail instead of returning garbage."""
    cipher = TokenCipher.for_data_dir(tmp_path)
    sealed = cipher.encrypt("refresh-token")
    head, body = sealed[:-5], sealed[-5:]
    tampered = head + ("A" if body[0] != "A" else "B") + body[1:]
    with pytest.raises(ConfigurationError, match="failed authentication"):
        cipher.decrypt(tampered)


def test_rotation_seen_by_a_running_service(tmp_path: Path) -> None:
    """After another process rotates, a running cipher opens new ciphertexts and seals with the new primary."""
    running = TokenCipher.for_data_dir(tmp_path)
    old = running.encrypt("token-a")
    other_process = TokenCipher.for_data_dir(tmp_path)
    new_kid = KeyFile(tmp_path / "token-keys.json").add_primary()
    resealed = other_process.reseal(old)
    assert TokenCipher.key_id(resealed) == new_kid
    assert running.decrypt(resealed) == "token-a"
    assert TokenCipher.key_id(running.encrypt("token-b")) == new_kid
    assert running.needs_rotation(old) and not running.needs_rotation(resealed)


def test_retired_key_is_refused_with_a_reason(tmp_path: Path) -> None:
    """A ciphertext sealed by a retired key fails with a message naming the key."""
    cipher = TokenCipher.for_data_dir(tmp_path)
    old = cipher.encrypt("x")
    kf = KeyFile(tmp_path / "token-keys.json")
    kf.add_primary()
    dropped = kf.retire(keep=set())
    assert dropped == [TokenCipher.key_id(old)]
    with pytest.raises(ConfigurationError, match="retired"):
        TokenCipher.for_data_dir(tmp_path).decrypt(old)


def test_environment_keys(tmp_path: Path) -> None:
    """CALSYNC_TOKEN_KEYS names the keys, first is primary; malformed values are refused clearly."""
    k1, k2 = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    cipher = TokenCipher.for_data_dir(tmp_path, env_keys=f"a={k1},b={k2}")
    assert cipher.primary == "a"
    assert cipher.decrypt(cipher.encrypt("t")) == "t"
    assert not (tmp_path / "token-keys.json").exists()
    with pytest.raises(ConfigurationError, match="id1=base64key"):
        TokenCipher.for_data_dir(tmp_path, env_keys="nonsense")
    with pytest.raises(ConfigurationError, match="not a Fernet key"):
        TokenCipher.for_data_dir(tmp_path, env_keys="a=short")
