"""The Modbus TCP connector: addresses, block planning, decoding, and polling real servers (ours and
pyModbusTCP's, an independent implementation) on free ports."""

from __future__ import annotations

import asyncio
import struct
from contextlib import asynccontextmanager

import pytest
from pyModbusTCP.server import ModbusServer

from synfab.connect.modbus import ModbusConfig, ModbusCoordinator
from synfab.connect.modbus.address import (
    AddressError,
    DataType,
    Table,
    decode,
    encode,
    parse_address,
    plan_blocks,
    split_block,
)
from synfab.connect.modbus.server_wrap import ModbusDeviceServer
from synfab.connect.runtime import BAD, GOOD, SourceAddress, SourceError
from synfab.sim.modbus_server import AssemblySim
from tests.connect.machines.support import MemoryIntake, free_port, until

# -- addresses ------------------------------------------------------------------------------------------


def test_address_parses_into_parts_with_defaults() -> None:
    a = parse_address("1/hr/100/float32/cdab")
    assert (a.unit, a.table, a.offset, a.datatype, a.order) == (1, Table.HR, 100, DataType.FLOAT32, "CDAB")
    assert str(a) == "1/hr/100/float32/CDAB"
    assert str(parse_address(" 3 / IR / 7 ")) == "3/ir/7/uint16/AB"
    assert str(parse_address("2/hr/0/int32")) == "2/hr/0/int32/ABCD"
    coil = parse_address("1/coil/5")
    assert (coil.table, coil.datatype, coil.width) == (Table.COIL, DataType.BOOL, 1)
    assert parse_address("4/di/9/bool") == parse_address("4/di/9")
    assert parse_address("1/hr/8/float64/HGFEDCBA").width == 4


@pytest.mark.parametrize("text, expected", [
    ("1/hr", "expected UNIT/TABLE/OFFSET"),
    ("1/hr/1/int16/AB/x", "expected UNIT/TABLE/OFFSET"),
    ("256/hr/1", "unit id '256'"),
    ("x/hr/1", "unit id 'x'"),
    ("1/holding/1", "table 'holding' is not one of coil, di, hr, ir"),
    ("1/hr/70000", "offset '70000'"),
    ("1/hr/-1", "offset '-1'"),
    ("1/hr/1/float", "type 'float' is not one of"),
    ("1/hr/1/float32/ABDC", "order 'ABDC' for float32 must be one of ABCD, CDAB, BADC, DCBA"),
    ("1/hr/1/int16/CDAB", "must be one of AB, BA"),
    ("1/coil/1/int16", "coil holds single bits"),
    ("1/hr/1/bool", "bool is for coil and di"),
    ("1/hr/65535/float32", "runs past register 65535"),
])
def test_bad_addresses_say_what_is_wrong(text: str, expected: str) -> None:
    with pytest.raises(AddressError, match=expected.replace("(", r"\(")):
        parse_address(text)


# -- decoding, written independently: every type in every order ---------------------------------------


def words(value: float | int, code: str, order: str) -> list[int]:
    """Registers as a device with that layout serves them, built with struct, not with our code."""
    big = struct.pack(">" + code, value)
    regs = [int.from_bytes(big[i:i + 2], "big") for i in range(0, len(big), 2)]
    if order in ("CDAB", "GHEFCDAB", "DCBA", "HGFEDCBA", "BA"):
        regs = regs[::-1] if order != "BA" else regs
    if order in ("BADC", "BADCFEHG", "DCBA", "HGFEDCBA", "BA"):
        regs = [((r & 0xFF) << 8) | (r >> 8) for r in regs]
    return regs


CASES = [
    ("int16", "h", -12345, ("AB", "BA")),
    ("uint16", "H", 54321, ("AB", "BA")),
    ("int32", "i", -123456789, ("ABCD", "CDAB", "BADC", "DCBA")),
    ("uint32", "I", 3_000_000_001, ("ABCD", "CDAB", "BADC", "DCBA")),
    ("float32", "f", -1234.5, ("ABCD", "CDAB", "BADC", "DCBA")),
    ("int64", "q", -1_234_567_890_123, ("ABCDEFGH", "GHEFCDAB", "BADCFEHG", "HGFEDCBA")),
    ("uint64", "Q", 18_000_000_000_000_000_000, ("ABCDEFGH", "GHEFCDAB", "BADCFEHG", "HGFEDCBA")),
    ("float64", "d", 6.02214076e23, ("ABCDEFGH", "GHEFCDAB", "BADCFEHG", "HGFEDCBA")),
]
ALL_ORDERS = [(t, c, v, o) for t, c, v, orders in CASES for o in orders]


@pytest.mark.parametrize("type_name, code, value, order", ALL_ORDERS)
def test_decode_and_encode_every_type_and_order(type_name: str, code: str, value: float, order: str) -> None:
    address = parse_address(f"1/hr/0/{type_name}/{order}")
    raw = words(value, code, order)
    assert decode(address, raw) == value
    assert encode(address, value) == raw


def test_known_float32_layouts() -> None:
    # 1.0 is 0x3F800000.
    assert encode(parse_address("1/hr/0/float32/ABCD"), 1.0) == [0x3F80, 0x0000]
    assert encode(parse_address("1/hr/0/float32/CDAB"), 1.0) == [0x0000, 0x3F80]
    assert encode(parse_address("1/hr/0/float32/BADC"), 1.0) == [0x803F, 0x0000]
    assert encode(parse_address("1/hr/0/float32/DCBA"), 1.0) == [0x0000, 0x803F]


def test_float32_reads_at_its_own_precision_and_nan_is_none() -> None:
    address = parse_address("1/ir/0/float32")
    assert decode(address, words(21.3, "f", "ABCD")) == 21.3
    assert decode(address, [0x7FC0, 0]) is None


# -- the planner ------------------------------------------------------------------------------------------


def plan(texts: list[str], max_block: int = 100, gap: int = 0, bits: int = 2000) -> list[tuple]:
    blocks = plan_blocks([parse_address(t) for t in texts], max_block, gap, bits)
    return [(b.unit, b.table.value, b.start, b.count, len(b.addresses)) for b in blocks]


def test_planner_groups_per_unit_and_table() -> None:
    texts = ["1/hr/0", "1/hr/1/uint32", "2/hr/0", "1/ir/0", "1/coil/3", "1/coil/0", "1/di/0"]
    assert plan(texts) == [(1, "coil", 0, 1, 1), (1, "coil", 3, 1, 1), (1, "di", 0, 1, 1),
                           (1, "hr", 0, 3, 2), (1, "ir", 0, 1, 1), (2, "hr", 0, 1, 1)]
    assert plan(["1/coil/3", "1/coil/0"], gap=2) == [(1, "coil", 0, 4, 2)]


def test_planner_joins_across_small_gaps_only() -> None:
    texts = ["1/hr/0", "1/hr/5/float32", "1/hr/20"]
    assert plan(texts, gap=0) == [(1, "hr", 0, 1, 1), (1, "hr", 5, 2, 1), (1, "hr", 20, 1, 1)]
    assert plan(texts, gap=4) == [(1, "hr", 0, 7, 2), (1, "hr", 20, 1, 1)]
    assert plan(texts, gap=13) == [(1, "hr", 0, 21, 3)]


def test_planner_respects_block_size_and_never_splits_a_value() -> None:
    texts = [f"1/hr/{i}" for i in range(10)]
    assert plan(texts, max_block=4) == [(1, "hr", 0, 4, 4), (1, "hr", 4, 4, 4), (1, "hr", 8, 2, 2)]
    assert plan(["1/hr/0", "1/hr/1/float64"], max_block=3) == [(1, "hr", 0, 1, 1), (1, "hr", 1, 4, 1)]
    assert plan([f"1/coil/{i}" for i in range(5)], bits=2) == [(1, "coil", 0, 2, 2), (1, "coil", 2, 2, 2),
                                                               (1, "coil", 4, 1, 1)]


def test_planner_reads_shared_and_duplicate_registers_once() -> None:
    texts = ["1/hr/0/uint32", "1/hr/0", "1/hr/1", "1/hr/0/uint32"]
    assert plan(texts) == [(1, "hr", 0, 2, 3)]
    (block,) = plan_blocks([parse_address(t) for t in texts])
    assert dict((str(a), v) for a, v in block.values([1, 2])) == {
        "1/hr/0/uint32/ABCD": 65538, "1/hr/0/uint16/AB": 1, "1/hr/1/uint16/AB": 2}


def test_split_block_reads_value_by_value() -> None:
    (block,) = plan_blocks([parse_address(t) for t in ["1/hr/0", "1/hr/4/float32", "1/hr/9"]], max_gap=10)
    assert [(b.start, b.count) for b in split_block(block)] == [(0, 1), (4, 2), (9, 1)]


# -- polling real servers ---------------------------------------------------------------------------------


def coordinator(port: int, texts: list[str], intake: MemoryIntake, **config: object) -> ModbusCoordinator:
    settings = {"host": "127.0.0.1", "port": port, "poll_interval_ms": 100, "timeout_s": 1.0, "retries": 1}
    settings.update(config)
    return ModbusCoordinator("press-1", ModbusConfig(**settings), [SourceAddress(t) for t in texts], intake)


@asynccontextmanager
async def running(coord: ModbusCoordinator):  # type: ignore[no-untyped-def]
    task = asyncio.create_task(coord.run())
    try:
        yield task
    finally:
        coord.stop()
        await asyncio.wait_for(task, 10)


@pytest.fixture()
def server():  # type: ignore[no-untyped-def]
    srv = ModbusDeviceServer([1, 2], port=0)
    srv.start()
    yield srv
    srv.stop()


def latest(intake: MemoryIntake, text: str) -> object:
    values = intake.values(text)
    return values[-1] if values else "nothing"


def test_block_reads_of_all_four_tables(server: ModbusDeviceServer) -> None:
    server.write(1, "coil", 0, [True, False, True])
    server.write(1, "di", 20, [False, True])
    server.write(1, "hr", 10, [111, 222, 333])
    server.write(1, "ir", 0, [7, 8])
    texts = ["1/coil/0", "1/coil/1", "1/coil/2", "1/di/20", "1/di/21", "1/hr/10", "1/hr/11", "1/hr/12",
             "1/ir/0", "1/ir/1"]
    intake = MemoryIntake()

    async def scenario() -> None:
        async with running(coordinator(server.port, texts, intake)):
            await until(lambda: all(intake.values(t) for t in texts), 5)

    asyncio.run(scenario())
    assert [latest(intake, t) for t in texts] == [True, False, True, False, True, 111, 222, 333, 7, 8]
    assert intake.states[0] == (True, None)
    assert all(r.quality == GOOD for r in intake.readings_seen)
    # One poll is one timestamp per tag: nothing for the store to drop.
    assert intake.duplicates() == 0


def test_every_type_and_order_against_served_registers(server: ModbusDeviceServer) -> None:
    texts, expected, offset = [], {}, 0
    for type_name, code, value, order in ALL_ORDERS:
        text = f"1/hr/{offset}/{type_name}/{order}"
        raw = words(value, code, order)
        server.write(1, "hr", offset, raw)
        texts.append(text)
        expected[text] = value
        offset += len(raw) + 1
    # Input registers too, and with small blocks so the plan needs several reads.
    server.write(1, "ir", 3, words(-2.5, "f", "DCBA"))
    texts.append("1/ir/3/float32/DCBA")
    expected["1/ir/3/float32/DCBA"] = -2.5
    intake = MemoryIntake()

    async def scenario() -> None:
        async with running(coordinator(server.port, texts, intake, max_block_registers=10, max_gap=1)):
            await until(lambda: all(intake.values(t) for t in texts), 5)

    asyncio.run(scenario())
    assert {t: latest(intake, t) for t in texts} == expected


def test_each_unit_is_its_own_device(server: ModbusDeviceServer) -> None:
    server.write(1, "hr", 0, [101])
    server.write(2, "hr", 0, [202])
    server.write(2, "coil", 0, [True])
    intake = MemoryIntake()

    async def scenario() -> None:
        async with running(coordinator(server.port, ["1/hr/0", "2/hr/0", "1/coil/0", "2/coil/0"], intake)):
            await until(lambda: len(intake.values("2/coil/0")) >= 1, 5)

    asyncio.run(scenario())
    assert (latest(intake, "1/hr/0"), latest(intake, "2/hr/0")) == (101, 202)
    assert (latest(intake, "1/coil/0"), latest(intake, "2/coil/0")) == (False, True)


def test_polls_at_the_configured_interval_and_sees_changes(server: ModbusDeviceServer) -> None:
    intake = MemoryIntake()

    async def scenario() -> None:
        async with running(coordinator(server.port, ["1/hr/0"], intake, poll_interval_ms=200)):
            await until(lambda: intake.values("1/hr/0"), 5)
            server.write(1, "hr", 0, [42])
            await asyncio.sleep(1.5)

    asyncio.run(scenario())
    stamps = [r.ts_ms for r in intake.readings_seen]
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert 6 <= len(stamps) <= 10
    assert all(150 <= g <= 350 for g in gaps), gaps
    assert intake.values("1/hr/0")[0] == 0 and intake.values("1/hr/0")[-1] == 42


def test_a_tag_can_ask_for_slower_sampling(server: ModbusDeviceServer) -> None:
    intake = MemoryIntake()
    config = ModbusConfig(host="127.0.0.1", port=server.port, poll_interval_ms=100)
    coord = ModbusCoordinator("press-1", config,
                              [SourceAddress("1/hr/0"), SourceAddress("1/hr/1", sampling_ms=500)], intake)

    async def scenario() -> None:
        async with running(coord):
            await asyncio.sleep(1.2)

    asyncio.run(scenario())
    fast, slow = len(intake.values("1/hr/0")), len(intake.values("1/hr/1"))
    assert fast >= 8 and 2 <= slow <= 4


def test_refused_and_bad_addresses_are_quarantined_the_rest_keeps_polling(server: ModbusDeviceServer) -> None:
    server.write(1, "hr", 250, [25])
    server.write(1, "hr", 5, [5])
    # 250 and 260 are joined into one read (gap 20) that the device refuses: the read is split, 250 is read.
    texts = ["1/hr/5", "1/hr/250", "1/hr/260", "1/ir/400", "1/nope/1"]
    intake = MemoryIntake()

    async def scenario() -> None:
        async with running(coordinator(server.port, texts, intake, max_gap=20)):
            await until(lambda: len(intake.values("1/hr/5")) >= 3 and intake.values("1/hr/250"), 5)

    asyncio.run(scenario())
    assert latest(intake, "1/hr/5") == 5 and latest(intake, "1/hr/250") == 25
    assert not intake.values("1/hr/260") and not intake.values("1/ir/400")
    reasons = sorted((reason, payload) for reason, _detail, payload in intake.quarantined)
    assert reasons == [("modbus_bad_address", "1/nope/1"), ("modbus_illegal_address", "1/hr/260"),
                       ("modbus_illegal_address", "1/ir/400")]
    assert all("illegal" not in d or "no such address" in d for _r, d, _p in intake.quarantined)
    # Refused reads are the device answering: the connector was never lost (the last state is the stop).
    assert intake.states == [(True, None), (False, None)]


def test_same_address_under_two_spellings_reports_both(server: ModbusDeviceServer) -> None:
    server.write(1, "hr", 0, [9])
    intake = MemoryIntake()

    async def scenario() -> None:
        async with running(coordinator(server.port, ["1/hr/0", "1/HR/0/uint16/AB"], intake)):
            await until(lambda: intake.values("1/HR/0/uint16/AB"), 5)

    asyncio.run(scenario())
    assert latest(intake, "1/hr/0") == latest(intake, "1/HR/0/uint16/AB") == 9


def test_nan_is_reported_with_bad_quality(server: ModbusDeviceServer) -> None:
    server.write(1, "ir", 0, [0x7FC0, 0])
    intake = MemoryIntake()

    async def scenario() -> None:
        async with running(coordinator(server.port, ["1/ir/0/float32"], intake)):
            await until(lambda: intake.readings_seen, 5)

    asyncio.run(scenario())
    assert (intake.readings_seen[0].value, intake.readings_seen[0].quality) == (None, BAD)


def test_probe_reads_the_first_block(server: ModbusDeviceServer) -> None:
    server.write(1, "hr", 0, [3, 4])
    coord = coordinator(server.port, ["1/hr/0", "1/hr/1", "2/ir/0"], MemoryIntake())
    summary = asyncio.run(coord.probe())
    assert summary["blocks"] == 2 and summary["tags"] == 3
    assert summary["first_block"] == "unit 1 hr 0..1"
    assert summary["values"] == {"1/hr/0": 3, "1/hr/1": 4}


def test_probe_of_a_closed_port_says_so() -> None:
    coord = coordinator(free_port(), ["1/hr/0"], MemoryIntake(), timeout_s=0.5)
    with pytest.raises(SourceError, match="cannot be reached"):
        asyncio.run(coord.probe())


def test_config_rejects_what_modbus_cannot_do() -> None:
    with pytest.raises(ValueError, match="max_block_registers"):
        ModbusConfig(host="plc", max_block_registers=126)
    with pytest.raises(ValueError, match="extra"):
        ModbusConfig(host="plc", unit=1)
    assert ModbusCoordinator.parse_config({"host": "plc"}) == ModbusConfig(host="plc", port=502)


# -- an independent implementation: pyModbusTCP's server --------------------------------------------------


def test_reads_an_independent_modbus_server() -> None:
    port = free_port()
    other = ModbusServer(host="127.0.0.1", port=port, no_block=True)
    other.start()
    try:
        bank = other.data_bank
        bank.set_holding_registers(0, [1234, 0xFFFF] + words(3.75, "f", "CDAB") + words(-70000, "i", "ABCD"))
        bank.set_input_registers(10, words(99.5, "f", "ABCD") + [65000])
        bank.set_coils(0, [True, False, True, True])
        bank.set_discrete_inputs(5, [True])
        expected = {"1/hr/0": 1234, "1/hr/1/int16": -1, "1/hr/2/float32/CDAB": 3.75, "1/hr/4/int32": -70000,
                    "1/ir/10/float32": 99.5, "1/ir/12": 65000, "1/coil/0": True, "1/coil/1": False,
                    "1/coil/3": True, "1/di/5": True}
        intake = MemoryIntake()

        async def scenario() -> None:
            async with running(coordinator(port, list(expected), intake, max_gap=2)):
                await until(lambda: all(intake.values(t) for t in expected), 5)
                bank.set_holding_registers(0, [4321])
                await until(lambda: latest(intake, "1/hr/0") == 4321, 5)

        asyncio.run(scenario())
        assert {t: latest(intake, t) for t in expected} == {**expected, "1/hr/0": 4321}
    finally:
        other.stop()


# -- the demo's assembly area -----------------------------------------------------------------------------


def test_assembly_sim_serves_its_stations_through_the_connector() -> None:
    sim = AssemblySim(["AS1-10", "AS1-40"], port=0, seed=3)
    sim.start()
    try:
        press, leak = sim.tag_addresses("AS1-10"), sim.tag_addresses("AS1-40")
        assert press["part_count"] == "1/hr/1/uint32/ABCD" and leak["part_count"] == "2/hr/1/uint32/ABCD"
        assert "press_force" in press and "leak_rate" in leak and "leak_rate" not in press
        sim.set_working("AS1-10", True)
        for _ in range(300):
            sim.tick(1.0)
        state = sim.snapshot("AS1-10")
        assert state.part_count >= 1 and sim.snapshot("AS1-40").part_count == 0
        texts = list(press.values()) + list(leak.values())
        intake = MemoryIntake()

        async def scenario() -> None:
            async with running(coordinator(sim.port, texts, intake)):
                await until(lambda: all(intake.values(t) for t in texts), 5)

        asyncio.run(scenario())
        assert latest(intake, press["part_count"]) == state.part_count
        assert latest(intake, press["scrap_count"]) == state.scrap_count
        assert latest(intake, press["running"]) == state.running
        assert latest(intake, press["mode"]) == state.mode
        assert latest(intake, press["sequence"]) == 300
        assert latest(intake, press["temperature"]) == pytest.approx(state.temperature, abs=1e-3)
        assert latest(intake, leak["running"]) is False
        leak_temperature = sim.snapshot("AS1-40").temperature
        assert latest(intake, leak["temperature"]) == pytest.approx(leak_temperature, abs=1e-3)
    finally:
        sim.stop()


def test_assembly_sim_is_reproducible_and_breaks_down_after_drift() -> None:
    def run(seed: int) -> tuple[list[tuple[int, bool, float]], int]:
        sim = AssemblySim(["AS2-10"], seed=seed)
        sim.set_working("AS2-10", True)
        trace = []
        for _ in range(48):  # 48 ticks of 10 simulated minutes
            sim.tick(600)
            s = sim.snapshot("AS2-10")
            trace.append((s.part_count, s.alarm, round(s.vibration, 3)))
        return trace, sim.unit_of("AS2-10")

    first, unit = run(11)
    assert run(11)[0] == first and unit == 1
    # Parts rise while it works; within 8 hours of wear it breaks down at least once.
    assert first[-1][0] > first[0][0] > 0
    assert any(alarm for _, alarm, _ in first)
    # Vibration rose above its normal running level before the first alarm.
    before = [v for (_, alarm, v) in first[:next(i for i, (_, a, _) in enumerate(first) if a)]]
    assert max(before) > 2.0


def test_assembly_sim_idle_station_makes_nothing_and_modes_stop_it() -> None:
    sim = AssemblySim(["AS1-20", "AS1-30"], seed=1)
    sim.set_working("AS1-30", True)
    sim.set_mode("AS1-30", 1)
    sim.tick(3600)
    assert sim.snapshot("AS1-20").part_count == 0 and sim.snapshot("AS1-30").part_count == 0
    assert not sim.snapshot("AS1-30").running
    with pytest.raises(ValueError):
        sim.set_mode("AS1-30", 5)
    with pytest.raises(KeyError, match="no station"):
        sim.tag_addresses("AS9-10")


def test_assembly_sim_restarts_on_the_same_port() -> None:
    sim = AssemblySim(["AS1-10"], port=free_port())
    port = sim.port
    sim.start()
    sim.stop()
    sim.start()
    try:
        assert sim.port == port
        summary = asyncio.run(coordinator(port, ["1/hr/10"], MemoryIntake()).probe())
        assert summary["values"] == {"1/hr/10": 0}
    finally:
        sim.stop()
