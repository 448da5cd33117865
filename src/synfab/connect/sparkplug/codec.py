"""Sparkplug B 3.0 payloads on the protobuf runtime, with the message definitions built here from the spec.

No protoc and no generated `_pb2` module: the `org.eclipse.tahu.protobuf.Payload` schema (proto2) is
described as a `FileDescriptorProto` and turned into message classes at import. Protobuf stops here: the
rest of synfab sees our `Metric`/`Payload` dataclasses and one error, `SparkplugDecodeError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

PACKAGE = "org.eclipse.tahu.protobuf"


class DataType(IntEnum):
    """Sparkplug B data types (spec 6.4.16)."""

    UNKNOWN = 0
    INT8 = 1
    INT16 = 2
    INT32 = 3
    INT64 = 4
    UINT8 = 5
    UINT16 = 6
    UINT32 = 7
    UINT64 = 8
    FLOAT = 9
    DOUBLE = 10
    BOOLEAN = 11
    STRING = 12
    DATETIME = 13
    TEXT = 14
    UUID = 15
    DATASET = 16
    BYTES = 17
    FILE = 18
    TEMPLATE = 19
    PROPERTYSET = 20
    PROPERTYSETLIST = 21


class SparkplugDecodeError(ValueError):
    """A payload that is not a readable Sparkplug B message."""


@dataclass(slots=True)
class Metric:
    """One metric as carried in a payload. `value` is None when `is_null`; ints are Python ints with their
    sign as the data type says; DataSet/Template/PropertySet values are not decoded (left None)."""

    name: str | None = None
    value: Any = None
    datatype: DataType = DataType.UNKNOWN
    alias: int | None = None
    timestamp: int | None = None
    is_historical: bool = False
    is_transient: bool = False
    is_null: bool = False


@dataclass(slots=True)
class Payload:
    timestamp: int | None = None
    seq: int | None = None
    metrics: list[Metric] = field(default_factory=list)
    uuid: str | None = None
    body: bytes | None = None


# -- the schema ------------------------------------------------------------------------------------------

_F = descriptor_pb2.FieldDescriptorProto
_OPT, _REP = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
_T = {
    "uint32": _F.TYPE_UINT32,
    "uint64": _F.TYPE_UINT64,
    "float": _F.TYPE_FLOAT,
    "double": _F.TYPE_DOUBLE,
    "bool": _F.TYPE_BOOL,
    "string": _F.TYPE_STRING,
    "bytes": _F.TYPE_BYTES,
    "msg": _F.TYPE_MESSAGE,
}


def _message(
    parent: Any, name: str, fields: list[tuple], *, extensions: int | None = None, oneof: str | None = None
) -> descriptor_pb2.DescriptorProto:
    """Add a message: fields are (name, number, type, label[, message type, in oneof])."""
    msg = (
        parent.nested_type.add()
        if isinstance(parent, descriptor_pb2.DescriptorProto)
        else parent.message_type.add()
    )
    msg.name = name
    if oneof:
        msg.oneof_decl.add().name = oneof
    for fname, number, ftype, label, *rest in fields:
        f = msg.field.add(name=fname, number=number, type=_T[ftype], label=label)
        if rest and rest[0]:
            f.type_name = rest[0]
        if len(rest) > 1 and rest[1]:
            f.oneof_index = 0
    if extensions is not None:
        msg.extension_range.add(start=extensions, end=536870912)
    return msg


def _value_fields(first: int, names: list[tuple[str, str]], extension: str) -> list[tuple]:
    fields = [(n, first + i, t, _OPT, None, True) for i, (n, t) in enumerate(names)]
    fields.append(("extension_value", first + len(names), "msg", _OPT, extension, True))
    return fields


def _schema() -> descriptor_pb2.FileDescriptorProto:
    fd = descriptor_pb2.FileDescriptorProto(name="synfab_sparkplug_b.proto", package=PACKAGE, syntax="proto2")
    p = f".{PACKAGE}.Payload"
    payload = _message(
        fd,
        "Payload",
        [
            ("timestamp", 1, "uint64", _OPT),
            ("metrics", 2, "msg", _REP, f"{p}.Metric"),
            ("seq", 3, "uint64", _OPT),
            ("uuid", 4, "string", _OPT),
            ("body", 5, "bytes", _OPT),
        ],
        extensions=6,
    )
    scalars = [
        ("int_value", "uint32"),
        ("long_value", "uint64"),
        ("float_value", "float"),
        ("double_value", "double"),
        ("boolean_value", "bool"),
        ("string_value", "string"),
    ]

    template = _message(
        payload,
        "Template",
        [
            ("version", 1, "string", _OPT),
            ("metrics", 2, "msg", _REP, f"{p}.Metric"),
            ("parameters", 3, "msg", _REP, f"{p}.Template.Parameter"),
            ("template_ref", 4, "string", _OPT),
            ("is_definition", 5, "bool", _OPT),
        ],
        extensions=6,
    )
    parameter = _message(
        template,
        "Parameter",
        [("name", 1, "string", _OPT), ("type", 2, "uint32", _OPT)]
        + _value_fields(3, scalars, f"{p}.Template.Parameter.ParameterValueExtension"),
        oneof="value",
    )
    _message(parameter, "ParameterValueExtension", [], extensions=1)

    dataset = _message(
        payload,
        "DataSet",
        [
            ("num_of_columns", 1, "uint64", _OPT),
            ("columns", 2, "string", _REP),
            ("types", 3, "uint32", _REP),
            ("rows", 4, "msg", _REP, f"{p}.DataSet.Row"),
        ],
        extensions=5,
    )
    ds_value = _message(
        dataset,
        "DataSetValue",
        _value_fields(1, scalars, f"{p}.DataSet.DataSetValue.DataSetValueExtension"),
        oneof="value",
    )
    _message(ds_value, "DataSetValueExtension", [], extensions=1)
    _message(dataset, "Row", [("elements", 1, "msg", _REP, f"{p}.DataSet.DataSetValue")], extensions=2)

    prop_value = _message(
        payload,
        "PropertyValue",
        [("type", 1, "uint32", _OPT), ("is_null", 2, "bool", _OPT)]
        + [(n, 3 + i, t, _OPT, None, True) for i, (n, t) in enumerate(scalars)]
        + [
            ("propertyset_value", 9, "msg", _OPT, f"{p}.PropertySet", True),
            ("propertysets_value", 10, "msg", _OPT, f"{p}.PropertySetList", True),
            ("extension_value", 11, "msg", _OPT, f"{p}.PropertyValue.PropertyValueExtension", True),
        ],
        oneof="value",
    )
    _message(prop_value, "PropertyValueExtension", [], extensions=1)
    _message(
        payload,
        "PropertySet",
        [("keys", 1, "string", _REP), ("values", 2, "msg", _REP, f"{p}.PropertyValue")],
        extensions=3,
    )
    _message(payload, "PropertySetList", [("propertyset", 1, "msg", _REP, f"{p}.PropertySet")], extensions=2)
    _message(
        payload,
        "MetaData",
        [
            ("is_multi_part", 1, "bool", _OPT),
            ("content_type", 2, "string", _OPT),
            ("size", 3, "uint64", _OPT),
            ("seq", 4, "uint64", _OPT),
            ("file_name", 5, "string", _OPT),
            ("file_type", 6, "string", _OPT),
            ("md5", 7, "string", _OPT),
            ("description", 8, "string", _OPT),
        ],
        extensions=9,
    )
    metric = _message(
        payload,
        "Metric",
        [
            ("name", 1, "string", _OPT),
            ("alias", 2, "uint64", _OPT),
            ("timestamp", 3, "uint64", _OPT),
            ("datatype", 4, "uint32", _OPT),
            ("is_historical", 5, "bool", _OPT),
            ("is_transient", 6, "bool", _OPT),
            ("is_null", 7, "bool", _OPT),
            ("metadata", 8, "msg", _OPT, f"{p}.MetaData"),
            ("properties", 9, "msg", _OPT, f"{p}.PropertySet"),
        ]
        + [(n, 10 + i, t, _OPT, None, True) for i, (n, t) in enumerate(scalars + [("bytes_value", "bytes")])]
        + [
            ("dataset_value", 17, "msg", _OPT, f"{p}.DataSet", True),
            ("template_value", 18, "msg", _OPT, f"{p}.Template", True),
            ("extension_value", 19, "msg", _OPT, f"{p}.Metric.MetricValueExtension", True),
        ],
        oneof="value",
    )
    _message(metric, "MetricValueExtension", [], extensions=1)
    return fd


# A pool of our own: never clashes with another library that registers the Tahu file in the default pool.
_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_schema())
PayloadMessage = message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{PACKAGE}.Payload"))

# -- values ----------------------------------------------------------------------------------------------

_SIGNED_32 = {DataType.INT8: 8, DataType.INT16: 16, DataType.INT32: 32}
_UNSIGNED_32 = {DataType.UINT8: 8, DataType.UINT16: 16, DataType.UINT32: 32}
_LONG = {DataType.INT64, DataType.UINT64, DataType.DATETIME}
_STRINGS = {DataType.STRING, DataType.TEXT, DataType.UUID}


def _set_value(pb: Any, metric: Metric) -> None:
    dt, v = DataType(metric.datatype), metric.value
    if dt in _SIGNED_32 or dt in _UNSIGNED_32:
        bits = _SIGNED_32.get(dt) or _UNSIGNED_32[dt]
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if dt in _SIGNED_32 else (0, (1 << bits) - 1)
        if not lo <= int(v) <= hi:
            raise ValueError(f"{v} does not fit {dt.name}")
        # Spec 6.4.17: signed values travel as their two's complement in the uint32 field.
        pb.int_value = int(v) & 0xFFFFFFFF
    elif dt in _LONG:
        if dt is DataType.UINT64 and not 0 <= int(v) < 1 << 64:
            raise ValueError(f"{v} does not fit UINT64")
        pb.long_value = int(v) & 0xFFFFFFFFFFFFFFFF
    elif dt is DataType.FLOAT:
        pb.float_value = float(v)
    elif dt is DataType.DOUBLE:
        pb.double_value = float(v)
    elif dt is DataType.BOOLEAN:
        pb.boolean_value = bool(v)
    elif dt in _STRINGS:
        pb.string_value = str(v)
    elif dt in (DataType.BYTES, DataType.FILE):
        pb.bytes_value = bytes(v)
    else:
        raise ValueError(f"encoding {dt.name} values is not supported")


_DATATYPES = {int(d): d for d in DataType}
_PLAIN_VALUES = frozenset({"double_value", "boolean_value", "string_value", "bytes_value"})


def _get_value(pb: Any, dt: DataType) -> Any:
    kind = pb.WhichOneof("value")
    if kind is None:
        return None
    raw = getattr(pb, kind)
    if kind == "int_value":
        bits = _SIGNED_32.get(dt)
        if bits:
            raw &= (1 << bits) - 1
            return raw - (1 << bits) if raw >= 1 << (bits - 1) else raw
        return raw
    if kind == "long_value":
        return raw - (1 << 64) if dt is DataType.INT64 and raw >= 1 << 63 else raw
    if kind == "float_value":
        # Keep the float32 value as sent, not a widened double with trailing noise.
        return struct.unpack("<f", struct.pack("<f", raw))[0]
    if kind in ("dataset_value", "template_value", "extension_value"):
        return None
    return raw


def encode_payload(
    timestamp_ms: int | None,
    seq: int | None,
    metrics: list[Metric],
    *,
    uuid: str | None = None,
    body: bytes | None = None,
) -> bytes:
    """A Sparkplug B payload as bytes. A metric's value must fit its data type (`ValueError` if not)."""
    pb = PayloadMessage()
    if timestamp_ms is not None:
        pb.timestamp = timestamp_ms
    if seq is not None:
        pb.seq = seq
    if uuid is not None:
        pb.uuid = uuid
    if body is not None:
        pb.body = body
    for metric in metrics:
        m = pb.metrics.add()
        if metric.name is not None:
            m.name = metric.name
        if metric.alias is not None:
            m.alias = metric.alias
        if metric.timestamp is not None:
            m.timestamp = metric.timestamp
        m.datatype = int(metric.datatype)
        if metric.is_historical:
            m.is_historical = True
        if metric.is_transient:
            m.is_transient = True
        if metric.is_null or metric.value is None:
            m.is_null = True
        else:
            _set_value(m, metric)
    return pb.SerializeToString()


def decode_payload(data: bytes) -> Payload:
    """Our `Payload` from bytes; `SparkplugDecodeError` for anything protobuf cannot read."""
    pb = PayloadMessage()
    try:
        pb.ParseFromString(bytes(data))
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise SparkplugDecodeError(f"not a Sparkplug B payload: {exc}") from exc
    metrics = []
    append = metrics.append
    for m in pb.metrics:  # the hot loop of every DDATA: plain values take the short way
        dt = _DATATYPES.get(m.datatype, DataType.UNKNOWN)
        kind = m.WhichOneof("value")
        null = m.is_null or kind is None
        if null:
            value = None
        elif kind in _PLAIN_VALUES:
            value = getattr(m, kind)
        else:
            value = _get_value(m, dt)
        append(Metric(
            m.name if m.HasField("name") else None, value, dt,
            m.alias if m.HasField("alias") else None,
            m.timestamp if m.HasField("timestamp") else None,
            m.is_historical, m.is_transient, null,
        ))
    return Payload(
        timestamp=pb.timestamp if pb.HasField("timestamp") else None,
        seq=pb.seq if pb.HasField("seq") else None,
        metrics=metrics,
        uuid=pb.uuid if pb.HasField("uuid") else None,
        body=pb.body if pb.HasField("body") else None,
    )
