"""A Modbus TCP server in its own thread, serving register images kept in plain Python lists: what the
demo's simulated devices and the tests run. The server side of the pymodbus wrapper (with `client`).

The images are the source of truth: a simulation writes them from any thread (`write`), and every request
copies them into pymodbus's datastore before it is served, and client writes are copied back. `pause()`
makes the device stop answering (requests are taken and dropped, the connection stays open), as a PLC
whose program hangs; `stop()` closes the port and every connection, and `start()` opens the same port again.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData, SimDevice

from synfab.connect.modbus.address import Table

# Function codes that write: coils (5, 15) and holding registers (6, 16).
_WRITE_TABLE = {5: Table.COIL, 15: Table.COIL, 6: Table.HR, 16: Table.HR, 22: Table.HR, 23: Table.HR}
_READ_TABLE = {1: Table.COIL, 2: Table.DI, 3: Table.HR, 4: Table.IR, 23: Table.HR}


@dataclass
class UnitImage:
    """What one unit serves: `size` coils, discrete inputs, holding and input registers from address 0."""

    size: int = 256
    tables: dict[Table, list] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for table in Table:
            self.tables.setdefault(table, [False] * self.size if table.is_bits else [0] * self.size)


class ModbusDeviceServer:
    """A Modbus TCP server on `host:port` (port 0: a free one, kept across restarts) for the given units."""

    def __init__(self, units: Iterable[int], host: str = "127.0.0.1", port: int | None = 0,
                 size: int = 256) -> None:
        self.host = host
        self.port = int(port or 0)
        self.images = {int(u): UnitImage(size) for u in units}
        self._lock = threading.Lock()
        self._answering = True
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None

    # -- the images ----------------------------------------------------------------------------------

    def write(self, unit: int, table: Table | str, offset: int,
              values: Sequence[int] | Sequence[bool]) -> None:
        """Put values into a unit's table (registers as 0..65535, bits as bool), from any thread."""
        table = Table(table)
        with self._lock:
            image = self.images[unit].tables[table]
            for i, value in enumerate(values):
                image[offset + i] = bool(value) if table.is_bits else int(value) & 0xFFFF

    def read(self, unit: int, table: Table | str, offset: int, count: int = 1) -> list:
        with self._lock:
            return list(self.images[unit].tables[Table(table)][offset:offset + count])

    # -- answering or not ----------------------------------------------------------------------------

    @property
    def answering(self) -> bool:
        return self._answering

    def pause(self) -> None:
        """Stop answering: requests are received and dropped, as from a device that hangs."""
        self._answering = False

    def resume(self) -> None:
        self._answering = True

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        return data if (self._answering or not sending) else b""

    # -- serving -------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 5.0) -> None:
        """Open the port and serve, in a thread of its own; returns when the port accepts connections.
        A device started again answers again, even if it was paused."""
        if self.running:
            return
        self._answering = True
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._serve, args=(ready, failure), daemon=True,
                                        name=f"modbus-server-{self.port or 'new'}")
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError(f"Modbus server on {self.host}:{self.port} did not start within {timeout} s")
        if failure:
            self._thread.join(timeout)
            self._thread = None
            raise RuntimeError(f"Modbus server on {self.host}:{self.port} could not start: {failure[0]}")

    def stop(self, timeout: float = 5.0) -> None:
        """Close every connection and the port (a restart on the same port works at once)."""
        if not self.running or self._loop is None or self._stopped is None:
            return
        self._loop.call_soon_threadsafe(self._stopped.set)
        assert self._thread is not None
        self._thread.join(timeout)
        self._thread = None

    def _serve(self, ready: threading.Event, failure: list[BaseException]) -> None:
        try:
            asyncio.run(self._main(ready))
        except BaseException as exc:  # noqa: BLE001 - handed to the starting thread, which raises it
            failure.append(exc)
            ready.set()

    async def _main(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        devices = [self._device(unit, image) for unit, image in self.images.items()]
        server = ModbusTcpServer(devices, address=(self.host, self.port), trace_packet=self._trace_packet)
        await server.serve_forever(background=True)
        try:
            sockets = getattr(server.transport, "sockets", None) or []
            if sockets:
                self.port = int(sockets[0].getsockname()[1])
            ready.set()
            await self._stopped.wait()
        finally:
            await server.shutdown()
            listener = server.transport
            if isinstance(listener, asyncio.AbstractServer):
                await listener.wait_closed()

    def _device(self, unit: int, image: UnitImage) -> SimDevice:
        size = image.size
        blocks = ([SimData(0, values=[False] * size, datatype=SimType.BITS)],
                  [SimData(0, values=[False] * size, datatype=SimType.BITS)],
                  [SimData(0, count=size, values=0, datatype=SimType.REGISTERS)],
                  [SimData(0, count=size, values=0, datatype=SimType.REGISTERS)])
        return SimDevice(unit, simdata=blocks, action=functools.partial(self._on_request, unit))

    async def _on_request(self, unit: int, function_code: int, _start: int, address: int, _count: int,
                          registers: list[int], set_values: list[int] | list[bool] | None) -> None:
        """Before pymodbus serves a request: refresh its copy of the table from the image; keep a write."""
        image = self.images[unit].tables
        with self._lock:
            if set_values is not None and function_code in _WRITE_TABLE:
                table = _WRITE_TABLE[function_code]
                for i, value in enumerate(set_values):
                    if 0 <= address + i < len(image[table]):
                        image[table][address + i] = bool(value) if table.is_bits else int(value)
            table = _READ_TABLE.get(function_code) or _WRITE_TABLE[function_code]
            values = image[table]
            if table.is_bits:
                # pymodbus keeps bits 16 to a register, bit 0 first.
                words = [sum(1 << b for b in range(16) if i + b < len(values) and values[i + b])
                         for i in range(0, len(values), 16)]
            else:
                words = list(values)
        registers[:len(words)] = words
        return None
