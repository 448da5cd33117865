"""Plain MQTT: JSON readings (`{"value": ..., "timestamp": ...}`) from topic filters.

A reading's address is its topic.

`client` is the one connector module (for this package and `connect/sparkplug`) that imports paho-mqtt;
the Sparkplug edge simulator in `synfab.sim` uses paho directly.
"""

from synfab.connect.mqtt.config import MqttConfig, MqttTls
from synfab.connect.mqtt.coordinator import MqttCoordinator, PayloadRejected, parse_json_readings

__all__ = ["MqttConfig", "MqttCoordinator", "MqttTls", "PayloadRejected", "parse_json_readings"]
