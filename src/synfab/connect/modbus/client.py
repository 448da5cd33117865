"""The thin wrapper over pymodbus's TCP client: the one place (with `server_wrap`) that imports pymodbus.

pymodbus's exceptions and error responses stop here: a device that cannot be reached or does not answer
within timeout x (retries + 1) is a `SourceError`; a device that answers "no" to one read (exception
response) is a `BlockRefused` for that read only.
"""

from __future__ import annotations

import asyncio

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from synfab.connect.modbus.address import Table
from synfab.connect.runtime import SourceError

# Modbus exception codes: the reason a person reads, and whether asking again can help.
EXCEPTION_CODES: dict[int, tuple[str, str, bool]] = {
    1: ("illegal_function", "the device does not serve this table", True),
    2: ("illegal_address", "the device has no such address", True),
    3: ("illegal_value", "the device refuses this read size", True),
    4: ("device_failure", "the device failed to serve this read", True),
    5: ("acknowledge", "the device is busy with a long command", False),
    6: ("device_busy", "the device is busy", False),
}
# A gateway answering for a unit behind it that does not answer: the device is not answering.
GATEWAY_CODES = {10: "gateway path unavailable", 11: "gateway target device failed to respond"}


class BlockRefused(Exception):
    """The device answered one read with a Modbus exception. `permanent`: asking again will not help, so the
    read is put aside (quarantined) until the next connection."""

    def __init__(self, code: int, reason: str, message: str, permanent: bool) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.permanent = permanent


class ModbusClient:
    """One TCP connection to a Modbus device or gateway. Reconnecting is the coordinator's job, so
    pymodbus's own reconnect loop is off."""

    def __init__(self, host: str, port: int, timeout_s: float, retries: int) -> None:
        self.host, self.port = host, port
        self._client = AsyncModbusTcpClient(host, port=port, timeout=timeout_s, retries=retries,
                                            reconnect_delay=0, name=f"synfab-modbus {host}:{port}")

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        return bool(self._client.connected)

    async def connect(self) -> None:
        try:
            ok = await self._client.connect()
        except (ModbusException, OSError, asyncio.TimeoutError) as exc:
            raise SourceError(f"Modbus device {self.where} cannot be reached: {exc}") from exc
        if not ok:
            raise SourceError(f"Modbus device {self.where} cannot be reached (refused or timed out)")

    def close(self) -> None:
        self._client.close()

    async def read_block(self, unit: int, table: Table, start: int, count: int) -> list[bool] | list[int]:
        """`count` bits or registers of `table` from `start` on unit `unit`."""
        readers = {Table.COIL: self._client.read_coils, Table.DI: self._client.read_discrete_inputs,
                   Table.HR: self._client.read_holding_registers, Table.IR: self._client.read_input_registers}
        what = f"unit {unit} {table.value} {start}..{start + count - 1}"
        try:
            response = await readers[table](start, count=count, device_id=unit)
        except ModbusIOException as exc:
            raise SourceError(f"Modbus device {self.where} does not answer ({what}): {_short(exc)}") from exc
        except ConnectionException as exc:
            raise SourceError(f"Modbus device {self.where} connection lost ({what}): {_short(exc)}") from exc
        except (ModbusException, OSError, asyncio.TimeoutError) as exc:
            raise SourceError(f"Modbus device {self.where} failed ({what}): {_short(exc)}") from exc
        if response.isError():
            code = int(getattr(response, "exception_code", 0))
            if code in GATEWAY_CODES:
                raise SourceError(f"Modbus device {self.where} unit {unit} does not answer: "
                                  f"{GATEWAY_CODES[code]}")
            reason, text, permanent = EXCEPTION_CODES.get(code, ("exception", "the device refused the read",
                                                                 True))
            raise BlockRefused(code, reason, f"{what}: {text} (Modbus exception {code})", permanent)
        values = list(response.bits if table.is_bits else response.registers)
        if len(values) < count:
            raise SourceError(f"Modbus device {self.where} answered {len(values)} values for {what}")
        # Bits come padded to whole bytes.
        return values[:count]


def _short(exc: Exception) -> str:
    return str(exc).strip() or type(exc).__name__
