"""API keys: created with a role (and optionally a list of databases), shown once, revocable.

Only a SHA-256 of the key is stored (namespace `api-keys`, keyed by the key's
short public id): the keys are 256 random bits, so a fast hash is as safe as
a slow one and keeps every request cheap. A key reads `rk_<id>_<secret>`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rookdb.errors import InvalidInput, NotFound
from rookdb.instance import check_database_name
from rookdb.security.roles import ROLES
from rookdb.system import SystemStore

KEYS_NAMESPACE = "api-keys"
_TOKEN = re.compile(r"^rk_([0-9a-f]{8})_[A-Za-z0-9_-]{20,100}$")


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored API key, without its secret part."""

    id: str
    role: str
    databases: tuple[str, ...] | None
    name: str
    created_at: str
    revoked_at: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def allows_database(self, database: str) -> bool:
        """Whether this key may touch `database` (unscoped keys may touch every one)."""
        return self.databases is None or database.lower() in (d.lower() for d in self.databases)

    def to_json(self) -> dict[str, Any]:
        """The key as `keys list` and `GET /admin/keys` show it (no secret, no hash)."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "databases": list(self.databases) if self.databases is not None else None,
            "created_at": self.created_at,
            "revoked": self.revoked,
            "revoked_at": self.revoked_at,
        }


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _from_entry(value: dict[str, Any]) -> ApiKey:
    databases = value.get("databases")
    return ApiKey(
        str(value["id"]),
        str(value["role"]),
        tuple(databases) if databases is not None else None,
        str(value.get("name", "")),
        str(value["created_at"]),
        value.get("revoked_at"),
    )


class ApiKeys:
    """Create, list, revoke and check the API keys of a system store."""

    def __init__(self, system: SystemStore) -> None:
        self._system = system

    def create(
        self, role: str, databases: list[str] | None = None, name: str = ""
    ) -> tuple[ApiKey, str]:
        """Store a new key; returns it with its secret text, which is never available again."""
        if role not in ROLES:
            raise InvalidInput(
                f"unknown role {role!r}: use one of {', '.join(ROLES)}", field="role"
            )
        scope = None
        if databases:
            scope = tuple(dict.fromkeys(check_database_name(d) for d in databases))
        if len(name) > 200 or any(c in name for c in "\r\n\0"):
            raise InvalidInput("a key name is one line of at most 200 characters", field="name")
        while True:
            key_id = secrets.token_hex(4)
            if self._system.get(KEYS_NAMESPACE, key_id) is None:
                break
        token = f"rk_{key_id}_{secrets.token_urlsafe(32)}"
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        key = ApiKey(key_id, role, scope, name.strip(), now)
        stored = {**key.to_json(), "sha256": _hash(token)}
        stored.pop("revoked")
        self._system.put(KEYS_NAMESPACE, key_id, stored, expected_version=0)
        return key, token

    def list(self) -> list[ApiKey]:
        """Every key, revoked ones included, by id."""
        return [_from_entry(e.value) for e in self._system.list(KEYS_NAMESPACE)]

    def any_exist(self) -> bool:
        """Whether a key was ever created (revoked ones count)."""
        return bool(self._system.list(KEYS_NAMESPACE))

    def get(self, key_id: str) -> ApiKey | None:
        entry = self._system.get(KEYS_NAMESPACE, key_id)
        return _from_entry(entry.value) if entry else None

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key at once; NotFound when there is no such key."""
        entry = self._system.get(KEYS_NAMESPACE, key_id)
        if entry is None:
            raise NotFound(f"there is no API key with id {key_id!r} (see `rookdb keys list`)")
        if entry.value.get("revoked_at") is None:
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            value = {**entry.value, "revoked_at": now}
            self._system.put(KEYS_NAMESPACE, key_id, value, expected_version=entry.version)
            return _from_entry(value)
        return _from_entry(entry.value)

    def authenticate(self, token: str) -> ApiKey | None:
        """The live key a token stands for, or None (malformed, unknown or revoked)."""
        match = _TOKEN.match(token)
        if match is None:
            return None
        entry = self._system.get(KEYS_NAMESPACE, match.group(1))
        if entry is None or entry.value.get("revoked_at") is not None:
            return None
        if not hmac.compare_digest(str(entry.value.get("sha256", "")), _hash(token)):
            return None
        return _from_entry(entry.value)

    def active(self, key_id: str) -> ApiKey | None:
        """The key with this id when it is not revoked (Studio sessions refer to keys by id)."""
        key = self.get(key_id)
        return key if key is not None and not key.revoked else None
