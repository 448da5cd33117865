"""What a plain-MQTT connector needs: the broker, who we are, and which topics carry JSON values."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class MqttTls(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ca_file: str | None = None
    # Only for a test bench with a self-signed certificate.
    insecure: bool = False


class MqttConfig(BaseModel):
    """A broker and the topic filters (MQTT wildcards + and #) whose messages are JSON readings."""

    model_config = ConfigDict(extra="forbid")

    broker_url: str = Field(min_length=1, description="mqtt://host:1883 or mqtts://host:8883")
    client_id: str = Field(min_length=1, max_length=128)
    topics: list[str] = Field(min_length=1)
    qos: int = Field(1, ge=0, le=2)
    username: str | None = None
    tls: MqttTls | None = None
    keepalive_s: int = Field(30, ge=5, le=3600)
    # A timestamp further ahead than this is a clock gone wrong, not a reading.
    max_future_ms: int = Field(86_400_000, ge=0)

    @field_validator("topics")
    @classmethod
    def _filters(cls, topics: list[str]) -> list[str]:
        for t in topics:
            levels = t.split("/")
            if (
                not t
                or any(("#" in lv and lv != "#") or ("+" in lv and lv != "+") for lv in levels)
                or "#" in levels[:-1]
            ):
                raise ValueError(f"not an MQTT topic filter: {t!r}")
        return topics
