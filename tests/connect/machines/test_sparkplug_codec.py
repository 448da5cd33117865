"""Our Sparkplug B codec: round trips, signed/unsigned handling, and interop with an independent schema.

The independent side is a `sparkplug_b.proto` written in this test from the Sparkplug B 3.0 specification
and compiled by protoc (grpcio-tools), so it shares nothing with the codec's runtime-built descriptors.
Wire bytes of one small message are also checked by hand against the protobuf encoding rules.
"""

from __future__ import annotations

import importlib
import math
import struct
import sys
from pathlib import Path

import pytest

from synfab.connect.sparkplug.codec import (
    DataType,
    Metric,
    SparkplugDecodeError,
    decode_payload,
    encode_payload,
)

SPEC_PROTO = """
syntax = "proto2";
package org.eclipse.tahu.protobuf;

message Payload {
  message Template {
    message Parameter {
      optional string name = 1;
      optional uint32 type = 2;
      oneof value {
        uint32 int_value = 3; uint64 long_value = 4; float float_value = 5; double double_value = 6;
        bool boolean_value = 7; string string_value = 8; ParameterValueExtension extension_value = 9;
      }
      message ParameterValueExtension { extensions 1 to max; }
    }
    optional string version = 1;
    repeated Metric metrics = 2;
    repeated Parameter parameters = 3;
    optional string template_ref = 4;
    optional bool is_definition = 5;
    extensions 6 to max;
  }
  message DataSet {
    message DataSetValue {
      oneof value {
        uint32 int_value = 1; uint64 long_value = 2; float float_value = 3; double double_value = 4;
        bool boolean_value = 5; string string_value = 6; DataSetValueExtension extension_value = 7;
      }
      message DataSetValueExtension { extensions 1 to max; }
    }
    message Row { repeated DataSetValue elements = 1; extensions 2 to max; }
    optional uint64 num_of_columns = 1;
    repeated string columns = 2;
    repeated uint32 types = 3;
    repeated Row rows = 4;
    extensions 5 to max;
  }
  message PropertyValue {
    optional uint32 type = 1;
    optional bool is_null = 2;
    oneof value {
      uint32 int_value = 3; uint64 long_value = 4; float float_value = 5; double double_value = 6;
      bool boolean_value = 7; string string_value = 8; PropertySet propertyset_value = 9;
      PropertySetList propertysets_value = 10; PropertyValueExtension extension_value = 11;
    }
    message PropertyValueExtension { extensions 1 to max; }
  }
  message PropertySet { repeated string keys = 1; repeated PropertyValue values = 2; extensions 3 to max; }
  message PropertySetList { repeated PropertySet propertyset = 1; extensions 2 to max; }
  message MetaData {
    optional bool is_multi_part = 1; optional string content_type = 2; optional uint64 size = 3;
    optional uint64 seq = 4; optional string file_name = 5; optional string file_type = 6;
    optional string md5 = 7; optional string description = 8;
    extensions 9 to max;
  }
  message Metric {
    optional string name = 1; optional uint64 alias = 2; optional uint64 timestamp = 3;
    optional uint32 datatype = 4; optional bool is_historical = 5; optional bool is_transient = 6;
    optional bool is_null = 7; optional MetaData metadata = 8; optional PropertySet properties = 9;
    oneof value {
      uint32 int_value = 10; uint64 long_value = 11; float float_value = 12; double double_value = 13;
      bool boolean_value = 14; string string_value = 15; bytes bytes_value = 16; DataSet dataset_value = 17;
      Template template_value = 18; MetricValueExtension extension_value = 19;
    }
    message MetricValueExtension { extensions 1 to max; }
  }
  optional uint64 timestamp = 1;
  repeated Metric metrics = 2;
  optional uint64 seq = 3;
  optional string uuid = 4;
  optional bytes body = 5;
  extensions 6 to max;
}
"""

SCALARS = [
    (DataType.INT8, -128),
    (DataType.INT8, 127),
    (DataType.INT16, -32768),
    (DataType.INT32, -2_000_000_000),
    (DataType.INT64, -(1 << 63)),
    (DataType.INT64, 42),
    (DataType.UINT8, 255),
    (DataType.UINT16, 65535),
    (DataType.UINT32, 4_294_967_295),
    (DataType.UINT64, (1 << 64) - 1),
    (DataType.FLOAT, 1.5),
    (DataType.DOUBLE, math.pi),
    (DataType.BOOLEAN, True),
    (DataType.BOOLEAN, False),
    (DataType.STRING, "车床 1"),
    (DataType.DATETIME, 1_700_000_000_123),
    (DataType.TEXT, "long text"),
    (DataType.BYTES, b"\x00\x01\xff"),
]


@pytest.fixture(scope="module")
def spec_pb2(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The spec's schema compiled by protoc into a temporary module."""
    from grpc_tools import protoc

    out = tmp_path_factory.mktemp("spb")
    (out / "spec_sparkplug_b.proto").write_text(SPEC_PROTO)
    assert (
        protoc.main(["protoc", f"-I{out}", f"--python_out={out}", str(out / "spec_sparkplug_b.proto")]) == 0
    )
    sys.path.insert(0, str(out))
    try:
        # A pool of its own is not possible for generated code: the default pool gets the spec file, which
        # is fine since our codec uses a separate pool.
        return importlib.import_module("spec_sparkplug_b_pb2")
    finally:
        sys.path.remove(str(out))


@pytest.mark.parametrize(
    ("datatype", "value"), SCALARS, ids=[f"{d.name}-{i}" for i, (d, _) in enumerate(SCALARS)]
)
def test_scalar_round_trip(datatype: DataType, value: object) -> None:
    data = encode_payload(1_700_000_000_000, 7, [Metric("m", value, datatype, alias=3, timestamp=5)])
    payload = decode_payload(data)
    assert (payload.timestamp, payload.seq) == (1_700_000_000_000, 7)
    [m] = payload.metrics
    assert (m.name, m.alias, m.timestamp, m.datatype, m.is_null) == ("m", 3, 5, datatype, False)
    assert m.value == value


def test_alias_only_null_and_historical() -> None:
    data = encode_payload(
        10,
        255,
        [
            Metric(None, 3, DataType.INT32, alias=9),
            Metric("gone", None, DataType.DOUBLE),
            Metric("old", 2.25, DataType.DOUBLE, timestamp=1, is_historical=True),
        ],
    )
    alias_only, null, old = decode_payload(data).metrics
    assert (alias_only.name, alias_only.alias, alias_only.value) == (None, 9, 3)
    assert null.is_null and null.value is None
    assert old.is_historical and old.timestamp == 1 and old.value == 2.25


def test_value_outside_its_type_is_refused() -> None:
    with pytest.raises(ValueError):
        encode_payload(1, 0, [Metric("m", 128, DataType.INT8)])
    with pytest.raises(ValueError):
        encode_payload(1, 0, [Metric("m", -1, DataType.UINT16)])


@pytest.mark.parametrize("data", [b"\xff\xff\xff", b"\x12\x05\x0a\x10abc", b"\x08", b"\x0a\x03"])
def test_broken_payload_raises_our_error(data: bytes) -> None:
    with pytest.raises(SparkplugDecodeError):
        decode_payload(data)


def test_wire_bytes_by_hand() -> None:
    """Payload{timestamp=1, seq=2, metrics=[{name "a", alias 3, datatype Int8, int_value -5}]}."""
    metric = b"\x0a\x01a" + b"\x10\x03" + b"\x20\x01" + b"\x50" + bytes([0xFB, 0xFF, 0xFF, 0xFF, 0x0F])
    expected = b"\x08\x01" + b"\x12" + bytes([len(metric)]) + metric + b"\x18\x02"
    assert encode_payload(1, 2, [Metric("a", -5, DataType.INT8, alias=3)]) == expected
    assert decode_payload(expected).metrics[0].value == -5
    # A float travels as 4 little-endian bytes in field 12 (tag 0x65).
    float_metric = b"\x20\x09\x65" + struct.pack("<f", 0.5)
    assert decode_payload(b"\x12" + bytes([len(float_metric)]) + float_metric).metrics[0].value == 0.5


def _value_of(pb_metric: object) -> object:
    return getattr(pb_metric, pb_metric.WhichOneof("value"))  # type: ignore[attr-defined]


def test_ours_decoded_by_the_spec_schema(spec_pb2) -> None:  # type: ignore[no-untyped-def]
    metrics = [Metric(f"m{i}", v, d, alias=i, timestamp=100 + i) for i, (d, v) in enumerate(SCALARS)]
    metrics.append(Metric("hist", 7, DataType.UINT8, timestamp=1, is_historical=True))
    metrics.append(Metric("none", None, DataType.STRING))
    theirs = spec_pb2.Payload.FromString(encode_payload(123, 9, metrics))
    assert (theirs.timestamp, theirs.seq, len(theirs.metrics)) == (123, 9, len(metrics))
    for ours, pb in zip(metrics[:-2], theirs.metrics, strict=False):
        assert (pb.name, pb.alias, pb.timestamp, pb.datatype) == (
            ours.name,
            ours.alias,
            ours.timestamp,
            int(ours.datatype),
        )
        raw = _value_of(pb)
        if ours.datatype in (DataType.INT8, DataType.INT16, DataType.INT32):
            assert raw == ours.value & 0xFFFFFFFF  # two's complement in uint32
        elif ours.datatype is DataType.INT64:
            assert raw == ours.value & 0xFFFFFFFFFFFFFFFF
        else:
            assert raw == ours.value
    assert theirs.metrics[-2].is_historical and theirs.metrics[-2].int_value == 7
    assert theirs.metrics[-1].is_null and theirs.metrics[-1].WhichOneof("value") is None


def test_spec_schema_decoded_by_ours(spec_pb2) -> None:  # type: ignore[no-untyped-def]
    pb = spec_pb2.Payload(timestamp=555, seq=12)
    pb.metrics.add(name="Node Control/Rebirth", datatype=11, boolean_value=True)
    pb.metrics.add(alias=17, datatype=1, int_value=(-3) & 0xFFFFFFFF, timestamp=4)
    pb.metrics.add(name="big", datatype=4, long_value=(-9) & 0xFFFFFFFFFFFFFFFF)
    pb.metrics.add(name="t", datatype=9, float_value=21.5, is_historical=True, timestamp=3)
    pb.metrics.add(name="s", datatype=12, string_value="ok")
    pb.metrics.add(name="n", datatype=10, is_null=True)
    pb.metrics.add(name="u", datatype=7, int_value=4_000_000_000)
    ours = decode_payload(pb.SerializeToString())
    assert (ours.timestamp, ours.seq) == (555, 12)
    got = [(m.name, m.alias, m.value, m.is_historical, m.is_null) for m in ours.metrics]
    assert got == [
        ("Node Control/Rebirth", None, True, False, False),
        (None, 17, -3, False, False),
        ("big", None, -9, False, False),
        ("t", None, 21.5, True, False),
        ("s", None, "ok", False, False),
        ("n", None, None, False, True),
        ("u", None, 4_000_000_000, False, False),
    ]


def test_spec_schema_file_is_not_in_the_repo() -> None:
    """The independent schema lives in this test only; the package carries no .proto or _pb2 module."""
    package = Path(__file__).parents[3] / "src" / "synfab" / "connect" / "sparkplug"
    assert not list(package.glob("*.proto")) and not list(package.glob("*_pb2.py"))
