"""OPC UA: subscribe to a server's variables; a tag's address is a node id string ("ns=2;s=CNC-01.Running").

`client` is the only module that imports asyncua's client (pinned to one minor version: the low-level
subscription service it uses changes between minors); `certs` makes self-signed application certificates.
The connector's secret is the password alone, or JSON with the password and the client's private key
(see `config.Credentials`).
"""

from synfab.connect.opcua.config import Credentials, OpcUaConfig
from synfab.connect.opcua.coordinator import OpcUaCoordinator, browse

__all__ = ["Credentials", "OpcUaConfig", "OpcUaCoordinator", "browse"]
