"""What a Modbus TCP connector needs to know: where the device is, how often to poll and how to read."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ModbusConfig(BaseModel):
    """One Modbus TCP device or gateway; the unit id of each value is in its tag address."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1)
    port: int = Field(502, ge=1, le=65535)
    poll_interval_ms: int = Field(1000, ge=10, le=3_600_000)
    # How long one request may wait for its answer, and how often it is sent again before the device
    # counts as not answering (pymodbus's own retries): lost after about timeout_s * (retries + 1).
    timeout_s: float = Field(3.0, gt=0, le=60)
    retries: int = Field(3, ge=0, le=10)
    # Modbus allows 125 registers or 2000 bits in one read.
    max_block_registers: int = Field(100, ge=1, le=125)
    max_block_bits: int = Field(2000, ge=1, le=2000)
    # Join two values into one read when at most this many unused registers (or bits) lie between them.
    max_gap: int = Field(8, ge=0, le=125)
