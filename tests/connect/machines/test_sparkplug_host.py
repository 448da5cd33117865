"""The Sparkplug host rules without a broker: births, aliases, data, deaths, seq, rebirth, history."""

from __future__ import annotations

from synfab.connect.runtime import BAD
from synfab.connect.sparkplug.codec import DataType, Metric, decode_payload, encode_payload
from synfab.connect.sparkplug.host import Quarantine, SparkplugHost

T = 1_700_000_000_000


def nbirth(host: SparkplugHost, bdseq: int = 0, ts: int = T):  # type: ignore[no-untyped-def]
    payload = encode_payload(
        ts,
        0,
        [
            Metric("bdSeq", bdseq, DataType.INT64),
            Metric("Node Control/Rebirth", False, DataType.BOOLEAN),
            Metric("temperature", 21.5, DataType.DOUBLE, alias=1, timestamp=ts),
        ],
    )
    return host.receive("spBv1.0/G1/NBIRTH/EN1", payload, ts)


def dbirth(host: SparkplugHost, seq: int = 1, ts: int = T):  # type: ignore[no-untyped-def]
    payload = encode_payload(
        ts,
        seq,
        [
            Metric("count", 10, DataType.UINT32, alias=2, timestamp=ts),
            Metric("mode", "auto", DataType.STRING, alias=3, timestamp=ts),
        ],
    )
    return host.receive("spBv1.0/G1/DBIRTH/EN1/D1", payload, ts)


def ddata(host: SparkplugHost, seq: int, value: int, ts: int, **kw):  # type: ignore[no-untyped-def]
    payload = encode_payload(ts, seq, [Metric(None, value, DataType.UINT32, alias=2, timestamp=ts, **kw)])
    return host.receive("spBv1.0/G1/DDATA/EN1/D1", payload, ts)


def test_birth_aliases_data_and_addresses() -> None:
    host = SparkplugHost()
    out = nbirth(host, bdseq=4)
    assert [(r.address, r.value) for r in out.readings][-1] == ("G1/EN1//temperature", 21.5)
    assert [(c.device, c.online) for c in out.changes] == [("", True)]
    out = dbirth(host)
    assert {(r.address, r.value) for r in out.readings} == {
        ("G1/EN1/D1/count", 10),
        ("G1/EN1/D1/mode", "auto"),
    }
    out = ddata(host, 2, 11, T + 1000)
    assert [(r.address, r.ts_ms, r.value) for r in out.readings] == [("G1/EN1/D1/count", T + 1000, 11)]
    assert not out.quarantined and not out.commands
    node = host.node("G1", "EN1")
    assert node is not None and node.online and node.bdseq == 4 and node.birth_ms == T
    # NDATA by alias, and the seq wraps from 255 to 0.
    node.last_seq = 254
    ndata = encode_payload(T + 2000, 255, [Metric(None, 22.0, DataType.DOUBLE, alias=1)])
    assert host.receive("spBv1.0/G1/NDATA/EN1", ndata, T + 2000).readings[0].address == "G1/EN1//temperature"
    assert ddata(host, 0, 12, T + 3000).readings[0].value == 12


def test_node_death_needs_the_births_bdseq() -> None:
    host = SparkplugHost()
    nbirth(host, bdseq=5)
    dbirth(host)
    stale = host.receive(
        "spBv1.0/G1/NDEATH/EN1", encode_payload(T, None, [Metric("bdSeq", 4, DataType.INT64)]), T
    )
    assert not stale.changes and host.node("G1", "EN1").online  # type: ignore[union-attr]
    out = host.receive(
        "spBv1.0/G1/NDEATH/EN1", encode_payload(T, None, [Metric("bdSeq", 5, DataType.INT64)]), T + 5
    )
    assert {(c.device, c.online) for c in out.changes} == {("D1", False), ("", False)}
    assert not host.node("G1", "EN1").online  # type: ignore[union-attr]
    # After the death, data means our state is out of date: quarantined, rebirth asked.
    after = ddata(host, 2, 11, T + 6)
    assert not after.readings and after.quarantined[0][0] == Quarantine.BEFORE_BIRTH and after.commands


def test_device_death() -> None:
    host = SparkplugHost()
    nbirth(host)
    dbirth(host)
    out = host.receive("spBv1.0/G1/DDEATH/EN1/D1", encode_payload(T, 2, []), T)
    assert [(c.device, c.online) for c in out.changes] == [("D1", False)]
    assert ddata(host, 3, 1, T).quarantined[0][0] == Quarantine.BEFORE_BIRTH


def test_seq_gap_asks_for_rebirth_and_puts_data_aside_until_it_comes() -> None:
    host = SparkplugHost(rebirth_interval_ms=1000)
    nbirth(host)
    dbirth(host)
    out = ddata(host, 5, 11, T + 10)
    assert not out.readings and out.quarantined[0][0] == Quarantine.SEQ_GAP
    [command] = out.commands
    assert command.topic == "spBv1.0/G1/NCMD/EN1"
    [metric] = decode_payload(command.payload).metrics
    assert (metric.name, metric.value) == ("Node Control/Rebirth", True)
    # Until the rebirth: still put aside, and not asked again within the interval.
    again = ddata(host, 6, 12, T + 20)
    assert again.quarantined and not again.commands
    assert ddata(host, 7, 13, T + 2000).commands
    nbirth(host, bdseq=1, ts=T + 3000)
    dbirth(host, ts=T + 3000)
    assert ddata(host, 2, 14, T + 3100).readings[0].value == 14


def test_data_before_birth_asks_for_rebirth() -> None:
    host = SparkplugHost()
    out = ddata(host, 3, 1, T)
    assert not out.readings and out.quarantined[0][0] == Quarantine.BEFORE_BIRTH
    assert out.commands[0].topic == "spBv1.0/G1/NCMD/EN1"


def test_unknown_alias_asks_for_rebirth() -> None:
    host = SparkplugHost()
    nbirth(host)
    dbirth(host)
    payload = encode_payload(T, 2, [Metric(None, 1, DataType.UINT32, alias=99)])
    out = host.receive("spBv1.0/G1/DDATA/EN1/D1", payload, T)
    assert out.quarantined[0][0] == Quarantine.UNKNOWN_ALIAS and out.commands and not out.readings


def test_historical_metrics_keep_their_own_timestamps() -> None:
    host = SparkplugHost()
    nbirth(host)
    dbirth(host)
    payload = encode_payload(
        T + 9000,
        2,
        [Metric(None, v, DataType.UINT32, alias=2, timestamp=T + v, is_historical=True) for v in (1, 2, 3)],
    )
    out = host.receive("spBv1.0/G1/DDATA/EN1/D1", payload, T + 9000)
    assert [(r.ts_ms, r.value) for r in out.readings] == [(T + 1, 1), (T + 2, 2), (T + 3, 3)]


def test_null_metric_is_a_bad_reading() -> None:
    host = SparkplugHost()
    nbirth(host)
    dbirth(host)
    out = host.receive(
        "spBv1.0/G1/DDATA/EN1/D1", encode_payload(T, 2, [Metric(None, None, DataType.UINT32, alias=2)]), T
    )
    assert out.readings[0].value is None and out.readings[0].quality == BAD


def test_malformed_payload_and_bad_topic_are_quarantined() -> None:
    host = SparkplugHost()
    nbirth(host)
    out = host.receive("spBv1.0/G1/DBIRTH/EN1/D1", b"\xff\xff\xff", T)
    assert out.quarantined[0][0] == Quarantine.MALFORMED and out.quarantined[0][2] == b"\xff\xff\xff"
    assert host.receive("spBv1.0/G1/DDATA", b"", T).quarantined[0][0] == Quarantine.BAD_TOPIC
    assert host.receive("other/G1/DDATA/EN1/D1", b"", T).quarantined[0][0] == Quarantine.BAD_TOPIC
    # Host STATE messages and commands are not data.
    assert host.receive("spBv1.0/STATE/synfab", b'{"online": true}', T).quarantined == []
    assert host.receive("spBv1.0/G1/NCMD/EN1", b"", T).quarantined == []
    # The node's alias state is untouched by the broken message.
    assert dbirth(host).readings
