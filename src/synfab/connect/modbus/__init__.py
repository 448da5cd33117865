"""Modbus TCP: poll devices' coils, discrete inputs and registers (see `address` for the tag address syntax).

`client` and `server_wrap` are the only modules that import pymodbus (pinned to one minor version because
its API changes between minors); everything else here is plain Python.
"""

from synfab.connect.modbus.address import AddressError, DataType, ModbusAddress, Table, parse_address
from synfab.connect.modbus.config import ModbusConfig
from synfab.connect.modbus.coordinator import ModbusCoordinator

__all__ = ["AddressError", "DataType", "ModbusAddress", "ModbusConfig", "ModbusCoordinator", "Table",
           "parse_address"]
