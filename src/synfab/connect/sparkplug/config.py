"""What a Sparkplug B host connector needs: the broker, its host id, and which groups it listens to."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from synfab.connect.mqtt.config import MqttTls


class SparkplugConfig(BaseModel):
    """A Sparkplug B 3.0 primary host application on one broker."""

    model_config = ConfigDict(extra="forbid")

    broker_url: str = Field(min_length=1, description="mqtt://host:1883 or mqtts://host:8883")
    client_id: str = Field(min_length=1, max_length=128)
    # The STATE topic spBv1.0/STATE/<host_id>; edge nodes configured with this id wait for us.
    host_id: str = Field(min_length=1, pattern=r"^[^/+#]+$")
    groups: list[str] = Field(default_factory=lambda: ["+"], min_length=1)
    username: str | None = None
    tls: MqttTls | None = None
    keepalive_s: int = Field(30, ge=5, le=3600)
