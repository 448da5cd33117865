"""What an OPC UA connector needs to know: the endpoint, how to secure the channel, who it signs in as, and
how fast the server should sample and publish. Passwords and private keys are not here: they come through
the connector's encrypted `secret` (see `Credentials`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SecurityMode = Literal["None", "Sign", "SignAndEncrypt"]
SecurityPolicy = Literal["Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"]


class OpcUaConfig(BaseModel):
    """One OPC UA server. Each tag's address is a node id string such as "ns=2;s=CNC-01.Running"."""

    model_config = ConfigDict(extra="forbid")

    endpoint: str = Field(min_length=1, pattern=r"^opc\.tcp://")
    security_mode: SecurityMode = "None"
    security_policy: SecurityPolicy = "Basic256Sha256"
    # Signing in: anonymous when empty; the password is in the secret.
    username: str | None = None
    # The application certificate this connector presents on a Sign / SignAndEncrypt channel (its private
    # key is in the secret). Its URI subject alternative name is announced as the application URI.
    client_certificate_pem: str | None = None
    # The server certificate to trust: the server must present exactly this one. Without it, a secured
    # connection is only made when `trust_any_server_certificate` says so (first use on a closed network).
    server_certificate_pem: str | None = None
    trust_any_server_certificate: bool = False
    publishing_interval_ms: int = Field(500, ge=10, le=3_600_000)
    sampling_interval_ms: int = Field(250, ge=0, le=3_600_000)
    session_timeout_ms: int = Field(60_000, ge=1_000, le=3_600_000)
    request_timeout_ms: int = Field(5_000, ge=100, le=600_000)
    # How often the server's state is read while nothing else shows the connection is alive: a server that
    # hangs is noticed within about this long (a closed connection at once).
    watchdog_interval_ms: int = Field(2_000, ge=100, le=600_000)

    @model_validator(mode="after")
    def _secured_needs_certificates(self) -> OpcUaConfig:
        if self.security_mode != "None":
            if not self.client_certificate_pem:
                raise ValueError(f"security mode {self.security_mode} needs the client certificate "
                                 "(client_certificate_pem; its private key goes in the secret)")
            if not self.server_certificate_pem and not self.trust_any_server_certificate:
                raise ValueError(f"security mode {self.security_mode} needs the server certificate to trust "
                                 "(server_certificate_pem), or trust_any_server_certificate")
        return self


@dataclass(frozen=True)
class Credentials:
    """What the connector's secret holds. The secret is either the password alone, or a JSON object
    {"password": ..., "private_key_pem": ..., "private_key_password": ...} (every key optional)."""

    password: str | None = None
    private_key_pem: str | None = None
    private_key_password: str | None = None

    @classmethod
    def from_secret(cls, secret: str | None) -> Credentials:
        if not secret:
            return cls()
        text = secret.strip()
        if text.startswith("{"):
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            if isinstance(data, dict):
                unknown = set(data) - {"password", "private_key_pem", "private_key_password"}
                if unknown:
                    raise ValueError(f"the secret has keys OPC UA does not use: {', '.join(sorted(unknown))}")
                return cls(data.get("password") or None, data.get("private_key_pem") or None,
                           data.get("private_key_password") or None)
        return cls(password=secret)

    def to_secret(self) -> str:
        """The secret string for these credentials (JSON unless only a password is set)."""
        if self.private_key_pem is None and self.private_key_password is None:
            return self.password or ""
        data = {"password": self.password, "private_key_pem": self.private_key_pem,
                "private_key_password": self.private_key_password}
        return json.dumps({k: v for k, v in data.items() if v is not None})
