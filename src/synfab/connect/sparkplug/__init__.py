"""Sparkplug B 3.0: a primary host application reading edge nodes' metrics over MQTT.

`codec` is our own Sparkplug B payload codec (schema built at runtime on the protobuf runtime), `host` the
host application's rules as pure code, `coordinator` the connector that runs them on a broker.
"""

from synfab.connect.sparkplug.codec import (
    DataType,
    Metric,
    Payload,
    SparkplugDecodeError,
    decode_payload,
    encode_payload,
)
from synfab.connect.sparkplug.config import SparkplugConfig
from synfab.connect.sparkplug.coordinator import SparkplugCoordinator
from synfab.connect.sparkplug.host import HostOutcome, NodeChange, NodeState, SparkplugHost

__all__ = [
    "DataType",
    "HostOutcome",
    "Metric",
    "NodeChange",
    "NodeState",
    "Payload",
    "SparkplugConfig",
    "SparkplugCoordinator",
    "SparkplugDecodeError",
    "SparkplugHost",
    "decode_payload",
    "encode_payload",
]
