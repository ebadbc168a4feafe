"""Encryption at rest for OAuth tokens: authenticated encryption (Fernet) with a key id on every ciphertext.

A ciphertext reads ``cs1:<key id>:<Fernet token>``. The key id says which key sealed it, so:

- decryption never guesses (no try-every-key), and an unknown id makes the ring re-read its key file once
  (a ``calsync keys rotate`` in another process added a key) before failing;
- ``calsync keys rotate`` adds a new primary key, re-encrypts every stored token under it, and may then retire
  keys no ciphertext uses. A running service notices the key file changed (its mtime) the next time it
  encrypts, so new tokens are sealed with the new primary without a restart.

Keys come from ``CALSYNC_TOKEN_KEYS`` (``id=base64key,...``, first is primary) when set, else from the key file
``<data_dir>/token-keys.json``, created owner-only (0600) on first run. Fernet is AES-128-CBC with
HMAC-SHA256 (cryptography.io/fernet): tampering or a wrong key fails loudly, never yields garbage.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from calsync.errors import ConfigurationError

PREFIX = "cs1"


@dataclass(frozen=True)
class KeySet:
    """Key id -> Fernet key (urlsafe base64), and which id seals new ciphertexts."""

    keys: dict[str, bytes]
    primary: str


def _parse_env_keys(value: str) -> KeySet:
    keys: dict[str, bytes] = {}
    primary = ""
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        kid, sep, key = item.partition("=")
        if not sep or not kid or not key:
            raise ConfigurationError("CALSYNC_TOKEN_KEYS must look like 'id1=base64key,id2=base64key'")
        try:
            Fernet(key.encode())
        except ValueError as exc:
            raise ConfigurationError(f"CALSYNC_TOKEN_KEYS: key {kid!r} is not a Fernet key: {exc}") from exc
        keys[kid] = key.encode()
        primary = primary or kid
    if not keys:
        raise ConfigurationError("CALSYNC_TOKEN_KEYS is set but names no key")
    return KeySet(keys, primary)


class KeyFile:
    """The JSON key file: ``{"primary": id, "keys": {id: key}}``, written atomically, mode 0600."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load_or_create(self) -> KeySet:
        if not self.path.exists():
            kid = "k" + secrets.token_hex(4)
            self._write(KeySet({kid: Fernet.generate_key()}, kid))
        return self.load()

    def load(self) -> KeySet:
        try:
            raw = json.loads(self.path.read_text())
            keys = {str(k): str(v).encode() for k, v in raw["keys"].items()}
            primary = str(raw["primary"])
        except (OSError, ValueError, KeyError, AttributeError) as exc:
            raise ConfigurationError(f"the token key file {self.path} is unreadable: {exc}") from exc
        if primary not in keys:
            raise ConfigurationError(f"the token key file {self.path} names a primary key it does not hold")
        return KeySet(keys, primary)

    def mtime(self) -> float:
        try:
            return self.path.stat().st_mtime
        except OSError:
            return 0.0

    def add_primary(self) -> str:
        """Add a fresh key and make it primary; older keys stay for decryption. Returns the new id."""
        current = self.load_or_create()
        kid = "k" + secrets.token_hex(4)
        self._write(KeySet({**current.keys, kid: Fernet.generate_key()}, kid))
        return kid

    def retire(self, keep: set[str]) -> list[str]:
        """Drop every key not in ``keep`` (the primary is always kept). Returns the ids dropped."""
        current = self.load()
        keep = keep | {current.primary}
        dropped = sorted(set(current.keys) - keep)
        self._write(KeySet({k: v for k, v in current.keys.items() if k in keep}, current.primary))
        return dropped

    def _write(self, keyset: KeySet) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_suffix(".tmp")
        data = json.dumps({"primary": keyset.primary, "keys": {k: v.decode() for k, v in keyset.keys.items()}})
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(data)
        os.replace(tmp, self.path)


class TokenCipher:
    """Seals and opens token strings. Thread-safe; re-reads the key file when it changes."""

    def __init__(self, *, key_file: KeyFile | None = None, env_keys: str | None = None) -> None:
        if env_keys:
            self._file: KeyFile | None = None
            self._keys = _parse_env_keys(env_keys)
        elif key_file is not None:
            self._file = key_file
            self._keys = key_file.load_or_create()
        else:
            raise ConfigurationError("token encryption needs CALSYNC_TOKEN_KEYS or a key file")
        self._mtime = self._file.mtime() if self._file else 0.0
        self._lock = threading.Lock()

    @classmethod
    def for_data_dir(cls, data_dir: Path, env_keys: str | None = None) -> TokenCipher:
        """The cipher calsync uses: environment keys when given, else the data directory's key file."""
        return cls(key_file=KeyFile(data_dir / "token-keys.json"), env_keys=env_keys)

    @property
    def primary(self) -> str:
        return self._keys.primary

    def _reload(self, *, force: bool = False) -> None:
        if self._file is None:
            return
        mtime = self._file.mtime()
        if force or mtime != self._mtime:
            with self._lock:
                self._keys = self._file.load()
                self._mtime = mtime

    def encrypt(self, plaintext: str) -> str:
        """Seal ``plaintext`` under the current primary key."""
        self._reload()
        keys = self._keys
        token = Fernet(keys.keys[keys.primary]).encrypt(plaintext.encode()).decode()
        return f"{PREFIX}:{keys.primary}:{token}"

    def decrypt(self, ciphertext: str) -> str:
        """Open a ciphertext made by :meth:`encrypt` (by this or another process)."""
        kid = self.key_id(ciphertext)
        if kid not in self._keys.keys:
            self._reload(force=True)
        key = self._keys.keys.get(kid)
        if key is None:
            raise ConfigurationError(f"no token key with id {kid!r}: was it retired while still in use?")
        try:
            return Fernet(key).decrypt(ciphertext.split(":", 2)[2].encode()).decode()
        except InvalidToken as exc:
            raise ConfigurationError(f"a stored token failed authentication under key {kid!r}") from exc

    @staticmethod
    def key_id(ciphertext: str) -> str:
        """Which key sealed this ciphertext."""
        prefix, _, rest = ciphertext.partition(":")
        kid, sep, _ = rest.partition(":")
        if prefix != PREFIX or not sep or not kid:
            raise ConfigurationError("a stored token is not in calsync's sealed format")
        return kid

    def needs_rotation(self, ciphertext: str) -> bool:
        """True when ``ciphertext`` is sealed by a key other than the primary."""
        self._reload()
        return self.key_id(ciphertext) != self._keys.primary

    def reseal(self, ciphertext: str) -> str:
        """Open and seal again under the primary key (key rotation)."""
        return self.encrypt(self.decrypt(ciphertext))
