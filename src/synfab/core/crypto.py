"""Secrets at rest: connector passwords, private keys, webhook secrets, second-factor seeds.

A column of type `EncryptedText` is encrypted with Fernet (AES-128-CBC + HMAC-SHA256) when written and
decrypted when read. Keys come from SYNFAB_SECRET_KEY (one or more keys, newest first, comma-separated) or
from the key file (SYNFAB_SECRET_KEY_FILE, default ./synfab.key, one key per line, newest first; created with
one fresh key the first time a secret is written). Every key in the ring decrypts; the first encrypts —
`synfab keys rotate` adds a new first key and re-encrypts every secret with it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from synfab.core.errors import Unavailable
from synfab.core.i18n import _l

_ring: MultiFernet | None = None
_keys: list[bytes] = []


def key_file() -> Path:
    return Path(os.environ.get("SYNFAB_SECRET_KEY_FILE", "synfab.key")).expanduser()


def _read_keys() -> list[bytes]:
    env = os.environ.get("SYNFAB_SECRET_KEY", "").strip()
    if env:
        return [k.strip().encode() for k in env.split(",") if k.strip()]
    path = key_file()
    if path.exists():
        return [ln.strip().encode() for ln in path.read_text(encoding="ascii").splitlines() if ln.strip()]
    return []


def write_key_file(keys: list[bytes], path: Path | None = None) -> Path:
    """Write the key ring (newest first), readable by its owner only."""
    path = path or key_file()
    path.write_text("\n".join(k.decode() for k in keys) + "\n", encoding="ascii")
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    return path


def keys(create: bool = False) -> list[bytes]:
    """The key ring; with `create`, a first key is made (and saved to the key file) when there is none."""
    global _ring, _keys
    if not _keys:
        _keys = _read_keys()
        if not _keys and create:
            _keys = [Fernet.generate_key()]
            write_key_file(_keys)
        if _keys:
            try:
                _ring = MultiFernet([Fernet(k) for k in _keys])
            except ValueError:
                raise Unavailable("secret_key_invalid", _l(
                    "The secret key is not valid: it must be a Fernet key (32 bytes, URL-safe base64).")) from None
    return _keys


def reset() -> None:
    """Forget the loaded keys (after a rotation, in tests)."""
    global _ring, _keys
    _ring, _keys = None, []


def encrypt(plaintext: str) -> str:
    keys(create=True)
    assert _ring is not None
    return _ring.encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    keys()
    if _ring is None:
        raise Unavailable("secret_key_missing", _l(
            "Secrets are stored encrypted but no key is configured: set SYNFAB_SECRET_KEY or provide the key file."))
    try:
        return _ring.decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise Unavailable("secret_key_wrong", _l(
            "A stored secret cannot be decrypted with the configured keys; restore the key that encrypted it.")) from None


def rotate_token(token: str) -> str:
    """Re-encrypt a stored secret with the newest key."""
    keys()
    assert _ring is not None
    return _ring.rotate(token.encode("ascii")).decode("ascii")


class EncryptedText(TypeDecorator[str]):
    """A text column stored encrypted; code reads and writes plain text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else encrypt(str(value))

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else decrypt(value)


def encrypted_columns(metadata: Any) -> list[tuple[Any, Any]]:
    """(table, column) of every EncryptedText column."""
    return [(t, c) for t in metadata.sorted_tables for c in t.columns if isinstance(c.type, EncryptedText)]


def reencrypt_all(engine: Any, metadata: Any) -> int:
    """Re-encrypt every stored secret with the newest key of the ring; returns how many were rewritten."""
    from sqlalchemy import Text, select, type_coerce, update

    count = 0
    with engine.begin() as conn:
        for table, column in encrypted_columns(metadata):
            raw = type_coerce(column, Text)  # the stored ciphertext, not decrypted
            pk = list(table.primary_key.columns)
            rows = conn.execute(select(*pk, raw.label("secret")).where(column.is_not(None))).all()
            for row in rows:
                fresh = rotate_token(row.secret)
                conn.execute(update(table).where(*(c == getattr(row, c.key) for c in pk))
                             .values({column.key: type_coerce(fresh, Text)}))
                count += 1
    return count


def rotate(engine: Any, metadata: Any, drop_old: bool = False) -> tuple[int, list[bytes]]:
    """Put a new key first in the ring, re-encrypt every secret with it, and save the ring (key file) — or,
    when the keys come from SYNFAB_SECRET_KEY, return the new ring for the administrator to set.
    With `drop_old`, only the new key is kept once everything is re-encrypted."""
    old = keys()
    new_ring = [Fernet.generate_key(), *old]
    global _ring, _keys
    _keys, _ring = new_ring, MultiFernet([Fernet(k) for k in new_ring])
    count = reencrypt_all(engine, metadata)
    if drop_old:
        _keys, _ring = new_ring[:1], MultiFernet([Fernet(new_ring[0])])
    if not os.environ.get("SYNFAB_SECRET_KEY", "").strip():
        write_key_file(_keys)
    return count, list(_keys)
