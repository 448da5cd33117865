"""The thin wrapper over asyncua's client: the one module of the connector that imports asyncua.

asyncua's exceptions stop here and become `SourceError` with a message a person can act on. Data changes
are taken straight from the publish responses (asyncua's low-level subscription service), one callback per
response with all its changes as `Reading`s: no task or object per change, so thousands of changes a second
cost little. asyncua's own reconnect loop is off: a lost connection is reported (`lost`), and the
coordinator starts a new session with a new subscription.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from asyncua import Client, ua
from asyncua.client.ua_client import UaClientState
from asyncua.crypto import security_policies, uacrypto
from asyncua.ua.uaerrors import UaError, UaStatusCodeError
from cryptography.hazmat.primitives import serialization

from synfab.connect.opcua.certs import application_uri, der_of
from synfab.connect.opcua.config import Credentials, OpcUaConfig
from synfab.connect.runtime import BAD, GOOD, UNCERTAIN, Reading, SourceError, now_ms

log = logging.getLogger(__name__)

POLICIES: dict[str, type[security_policies.SecurityPolicy]] = {
    "Basic256Sha256": security_policies.SecurityPolicyBasic256Sha256,
    "Aes128_Sha256_RsaOaep": security_policies.SecurityPolicyAes128Sha256RsaOaep,
    "Aes256_Sha256_RsaPss": security_policies.SecurityPolicyAes256Sha256RsaPss,
}
MODES = {"None": ua.MessageSecurityMode.None_, "Sign": ua.MessageSecurityMode.Sign,
         "SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt}
# Monitored items created per request: large tag lists go in a few requests, none too big for a server.
ITEMS_PER_REQUEST = 1000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)
# Severity bits of a StatusCode: 00 good, 01 uncertain, 10/11 bad.
_SEVERITY = {0: GOOD, 1: UNCERTAIN, 2: BAD, 3: BAD}
_NODE_CLASSES = {c.value: c.name for c in ua.NodeClass}


def parse_node_id(text: str) -> ua.NodeId:
    """A node id string ("ns=2;s=CNC-01.Running", "i=2258") as asyncua's NodeId; ValueError if malformed."""
    try:
        return ua.NodeId.from_string(text.strip())
    except Exception:  # noqa: BLE001 - asyncua raises several kinds for one malformed string
        raise ValueError(f"not an OPC UA node id: {text!r} (e.g. ns=2;s=Machine.Signal or ns=3;i=1001)") \
            from None


def quality_of(status: ua.StatusCode | None) -> int:
    return GOOD if status is None else _SEVERITY[(status.value >> 30) & 3]


def ms_of(stamp: dt.datetime | None) -> int | None:
    if stamp is None:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    # The OPC UA "no time" (1601-01-01) counts as none.
    return None if stamp.year < 1971 else (stamp - _EPOCH) // _MS


def reading_of(address: str, value: ua.DataValue, received_ms: int) -> Reading:
    """A data value as a reading: the source's timestamp, else the server's, else when it was received."""
    ts = ms_of(value.SourceTimestamp) or ms_of(value.ServerTimestamp) or received_ms
    raw = value.Value.Value if value.Value is not None else None
    return Reading(address, ts, _plain(raw), quality_of(value.StatusCode))


def _plain(value: Any) -> Any:
    """Values as plain Python: localized text as its text, arrays as lists, enums as ints."""
    if isinstance(value, ua.LocalizedText):
        return value.Text
    if isinstance(value, ua.QualifiedName):
        return value.to_string()
    if isinstance(value, ua.NodeId):
        return value.to_string()
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _short(exc: BaseException) -> str:
    if isinstance(exc, UaStatusCodeError):
        return f"{type(exc).__name__}: {exc}"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass(frozen=True)
class MonitoredTag:
    """One node to monitor: the address string as the tag has it, and its sampling interval."""

    address: str
    node_id: ua.NodeId
    sampling_ms: int


class OpcUaClient:
    """One connection (secure channel and session) to an OPC UA server."""

    def __init__(self, config: OpcUaConfig, credentials: Credentials | None = None) -> None:
        self.config = config
        self.credentials = credentials or Credentials()
        self._client = Client(config.endpoint, timeout=config.request_timeout_ms / 1000,
                              watchdog_intervall=config.watchdog_interval_ms / 1000, auto_reconnect=False)
        self._client.session_timeout = config.session_timeout_ms
        self._client.name = self._client.description = "synfab"
        self._client.product_uri = "urn:synfab"
        self._client.application_uri = "urn:synfab:opcua-client"
        self._client.connection_lost_callback = self._on_lost
        self._lost: str | None = None
        self._connected = False
        self._on_readings: Callable[[list[Reading]], None] | None = None
        self._handles: dict[int, str] = {}

    @property
    def where(self) -> str:
        return self.config.endpoint

    # -- the connection ------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the secure channel and the session, signed in as configured; `SourceError` when refused."""
        cfg = self.config
        try:
            if cfg.security_mode != "None":
                await self._secure()
            if cfg.username:
                self._client.set_user(cfg.username)
                if self.credentials.password is not None:
                    self._client.set_password(self.credentials.password)
            await self._client.connect()
        except SourceError:
            raise
        except (UaError, OSError, TimeoutError, ConnectionError, ValueError) as exc:
            raise SourceError(self._why_not_connected(exc)) from exc
        self._connected = True

    def _why_not_connected(self, exc: BaseException) -> str:
        name = type(exc).__name__
        if name in ("BadUserAccessDenied", "BadIdentityTokenRejected", "BadIdentityTokenInvalid"):
            who = f"user {self.config.username!r}" if self.config.username else "anonymous"
            return (f"OPC UA server {self.where} refused to sign in {who}: wrong user name or password, "
                    f"or the user is not allowed ({name})")
        if name.startswith(("BadCertificate", "BadSecurity")):
            return f"OPC UA server {self.where} refused the secure channel: {_short(exc)}"
        if isinstance(exc, ConnectionRefusedError):
            return f"OPC UA server {self.where} cannot be reached: connection refused"
        if isinstance(exc, TimeoutError):
            return f"OPC UA server {self.where} cannot be reached: no answer within the request timeout"
        if isinstance(exc, OSError):
            return f"OPC UA server {self.where} cannot be reached: {exc.strerror or _short(exc)}"
        return f"OPC UA server {self.where} refused the connection: {_short(exc)}"

    async def _secure(self) -> None:
        """Sign (and encrypt) the channel with the configured certificate and the secret's private key."""
        cfg, creds = self.config, self.credentials
        if not cfg.client_certificate_pem or not creds.private_key_pem:
            raise SourceError(f"security mode {cfg.security_mode} needs the client certificate and its "
                              "private key (the private key goes in the connector's secret)")
        policy, mode = POLICIES[cfg.security_policy], MODES[cfg.security_mode]
        server_cert = await self._server_certificate(policy, mode)
        # Peers compare the announced application URI with the certificate's.
        uri = application_uri(cfg.client_certificate_pem)
        if uri:
            self._client.application_uri = uri
        try:
            await self._client.set_security(
                policy, uacrypto.CertProperties(cfg.client_certificate_pem.encode(), "pem"),
                uacrypto.CertProperties(creds.private_key_pem.encode(), "pem",
                                        password=creds.private_key_password),
                server_certificate=uacrypto.CertProperties(server_cert, "der"), mode=mode)
        except (ValueError, TypeError) as exc:
            raise SourceError(f"the client certificate or its private key cannot be read: {_short(exc)}") \
                from exc

    async def _server_certificate(self, policy: type[security_policies.SecurityPolicy],
                                  mode: ua.MessageSecurityMode) -> bytes:
        """The server's certificate for this policy and mode (DER), checked against the trusted one."""
        cfg = self.config
        probe = Client(cfg.endpoint, timeout=cfg.request_timeout_ms / 1000)
        try:
            endpoints = await probe.connect_and_get_server_endpoints()
        except (UaError, OSError, TimeoutError, ConnectionError) as exc:
            raise SourceError(self._why_not_connected(exc)) from exc
        offered = [e for e in endpoints if e.SecurityMode == mode and e.SecurityPolicyUri == policy.URI]
        if not offered:
            have = sorted({f"{e.SecurityPolicyUri.rsplit('#', 1)[-1]}/{e.SecurityMode.name.rstrip('_')}"
                           for e in endpoints})
            raise SourceError(f"OPC UA server {self.where} offers no endpoint with {cfg.security_policy} "
                              f"{cfg.security_mode}; it offers: {', '.join(have)}")
        der = bytes(offered[0].ServerCertificate or b"")
        if not der:
            raise SourceError(f"OPC UA server {self.where} offers {cfg.security_mode} without a certificate")
        der = der_first(der)
        if cfg.server_certificate_pem and der != der_of(cfg.server_certificate_pem):
            raise SourceError(f"OPC UA server {self.where} presents a certificate that is not the trusted "
                              "one (server_certificate_pem): refusing to connect")
        return der

    async def disconnect(self) -> None:
        """Close the session and the connection; never raises (the server may already be gone)."""
        self._on_readings = None
        if not self._connected:
            return
        self._connected = False
        try:
            await asyncio.wait_for(self._client.disconnect(), self.config.request_timeout_ms / 1000 + 1)
        except Exception as exc:  # noqa: BLE001 - closing what may already be broken; nothing left to do
            log.debug("OPC UA %s: closing: %s", self.where, _short(exc))
            self._client.disconnect_socket()

    async def _on_lost(self, exc: Exception) -> None:
        """asyncua's watchdog saw the connection closed, or the server state not read in time."""
        if self._lost:
            return
        if isinstance(exc, TimeoutError):
            self._lost = (f"OPC UA server {self.where} does not answer (its state not read within "
                          f"{self.config.watchdog_interval_ms / 1000:g} s)")
        elif isinstance(exc, ConnectionError | OSError):
            self._lost = f"OPC UA server {self.where} connection lost: the connection was closed"
        else:
            self._lost = f"OPC UA server {self.where} connection lost: {_short(exc)}"

    @property
    def lost(self) -> str | None:
        """Why the connection is lost (closed by the server, or its state not read within the watchdog
        interval), or None while it is alive."""
        if self._lost:
            return self._lost
        if self._connected and self._client.uaclient.state is not UaClientState.CONNECTED:
            return f"OPC UA server {self.where} connection lost: the connection was closed"
        return None

    # -- reading and browsing ------------------------------------------------------------------------

    async def read_values(self, node_ids: Iterable[str]) -> list[Reading]:
        """The current value of each node (address = the node id as given)."""
        texts = list(node_ids)
        ids = [parse_node_id(t) for t in texts]
        values = await self._call("read values",
                                  self._client.uaclient.read_attributes(ids, ua.AttributeIds.Value))
        received = now_ms()
        return [reading_of(t, v, received) for t, v in zip(texts, values, strict=True)]

    async def server_summary(self) -> dict[str, Any]:
        """What the server says about itself: product, version, state, namespaces, current time."""
        n = ua.ObjectIds
        ids = [n.Server_ServerStatus_BuildInfo_ProductName, n.Server_ServerStatus_BuildInfo_SoftwareVersion,
               n.Server_ServerStatus_BuildInfo_ManufacturerName, n.Server_ServerStatus_State,
               n.Server_ServerStatus_CurrentTime, n.Server_NamespaceArray]
        values = await self._call("read the server status", self._client.uaclient.read_attributes(
            [ua.NodeId(i) for i in ids], ua.AttributeIds.Value))
        product, version, maker, state, now, namespaces = (_plain(v.Value.Value if v.Value else None)
                                                           for v in values)
        return {"product": product, "version": version, "manufacturer": maker,
                "state": ua.ServerState(state).name if isinstance(state, int) else state,
                "server_time_ms": ms_of(now) if isinstance(now, dt.datetime) else None,
                "namespaces": list(namespaces or [])}

    async def browse(self, node_id: str | None = None) -> list[dict[str, Any]]:
        """The children of a node (default: the Objects folder) for a "pick nodes" screen: node id, browse
        name, display name, node class, data type (variables) and whether it has children of its own."""
        parent = parse_node_id(node_id) if node_id else ua.NodeId(ua.ObjectIds.ObjectsFolder)
        refs = await self._browse_all(parent)
        variables = [r.NodeId for r in refs if r.NodeClass == ua.NodeClass.Variable]
        types: dict[ua.NodeId, str] = {}
        if variables:
            values = await self._call("read data types", self._client.uaclient.read_attributes(
                variables, ua.AttributeIds.DataType))
            names = await self._data_type_names([v.Value.Value for v in values if v.Value is not None])
            for nid, v in zip(variables, values, strict=True):
                dtype = v.Value.Value if v.Value is not None else None
                types[nid] = names.get(dtype, dtype.to_string() if isinstance(dtype, ua.NodeId) else "")
        return [{"node_id": r.NodeId.to_string(), "browse_name": r.BrowseName.to_string(),
                 "display_name": r.DisplayName.Text,
                 "node_class": _NODE_CLASSES.get(r.NodeClass, str(r.NodeClass)),
                 "data_type": types.get(r.NodeId), "has_children": r.NodeClass == ua.NodeClass.Object}
                for r in refs]

    async def _browse_all(self, parent: ua.NodeId) -> list[ua.ReferenceDescription]:
        desc = ua.BrowseDescription(
            NodeId=parent, BrowseDirection=ua.BrowseDirection.Forward,
            ReferenceTypeId=ua.NodeId(ua.ObjectIds.HierarchicalReferences), IncludeSubtypes=True,
            NodeClassMask=int(ua.NodeClass.Object | ua.NodeClass.Variable),
            ResultMask=int(ua.BrowseResultMask.All))
        params = ua.BrowseParameters(NodesToBrowse=[desc], RequestedMaxReferencesPerNode=0)
        results = await self._call("browse", self._client.uaclient.browse(params))
        result = results[0]
        self._check_status(result.StatusCode, f"browse {parent.to_string()}")
        refs = list(result.References)
        while result.ContinuationPoint:
            more = ua.BrowseNextParameters(ReleaseContinuationPoints=False,
                                           ContinuationPoints=[result.ContinuationPoint])
            result = (await self._call("browse", self._client.uaclient.browse_next(more)))[0]
            refs.extend(result.References)
        return refs

    async def _data_type_names(self, ids: list[ua.NodeId]) -> dict[ua.NodeId, str]:
        """Data type node ids as names: the standard ones known, the server's own read from the server."""
        names: dict[ua.NodeId, str] = {}
        unknown = []
        for nid in set(ids):
            standard = nid.NamespaceIndex == 0 and isinstance(nid.Identifier, int)
            if standard and nid.Identifier in ua.ObjectIdNames:
                names[nid] = ua.ObjectIdNames[nid.Identifier]
            else:
                unknown.append(nid)
        if unknown:
            values = await self._call("read data type names", self._client.uaclient.read_attributes(
                unknown, ua.AttributeIds.BrowseName))
            for nid, v in zip(unknown, values, strict=True):
                if v.Value is not None and isinstance(v.Value.Value, ua.QualifiedName):
                    names[nid] = v.Value.Value.Name
        return names

    # -- subscribing ---------------------------------------------------------------------------------

    async def subscribe(self, tags: list[MonitoredTag], on_readings: Callable[[list[Reading]], None],
                        publishing_interval_ms: int) -> list[tuple[str, str]]:
        """One subscription monitoring every tag at its sampling interval; `on_readings` gets the changes of
        each publish response. Returns the tags the server refused, with the reason."""
        self._on_readings = on_readings
        uaclient = self._client.uaclient
        # A keep-alive after about 5 s without changes; the subscription outlives 10 missed keep-alives.
        keepalive = max(1, -(-5_000 // publishing_interval_ms))
        params = ua.CreateSubscriptionParameters(
            RequestedPublishingInterval=publishing_interval_ms, RequestedMaxKeepAliveCount=keepalive,
            RequestedLifetimeCount=keepalive * 10, MaxNotificationsPerPublish=0, PublishingEnabled=True,
            Priority=0)
        result = await self._call("create a subscription",
                                  uaclient.create_subscription(params, self._published))
        revised = result.RevisedPublishingInterval or publishing_interval_ms
        refused: list[tuple[str, str]] = []
        handle = 0
        for start in range(0, len(tags), ITEMS_PER_REQUEST):
            chunk = tags[start:start + ITEMS_PER_REQUEST]
            requests = []
            for tag in chunk:
                handle += 1
                self._handles[handle] = tag.address
                requests.append(self._item_request(tag, handle, revised))
            create = ua.CreateMonitoredItemsParameters(SubscriptionId=result.SubscriptionId,
                                                       TimestampsToReturn=ua.TimestampsToReturn.Both,
                                                       ItemsToCreate=requests)
            created = await self._call("monitor nodes", uaclient.create_monitored_items(create))
            for tag, req, item in zip(chunk, requests, created, strict=True):
                if not item.StatusCode.is_good():
                    self._handles.pop(req.RequestedParameters.ClientHandle, None)
                    refused.append((tag.address, item.StatusCode.name))
        return refused

    @staticmethod
    def _item_request(tag: MonitoredTag, handle: int, publishing_ms: float) -> ua.MonitoredItemCreateRequest:
        # Keep every sample taken between two publish responses, three times over: a response that comes
        # late (a busy server or client) does not thin a value that changes at the sampling rate.
        per_publish = -(-int(publishing_ms) // (tag.sampling_ms or 10))
        queue = max(2, 3 * per_publish)
        params = ua.MonitoringParameters(ClientHandle=handle, SamplingInterval=float(tag.sampling_ms),
                                         QueueSize=min(queue, 1000), DiscardOldest=True)
        return ua.MonitoredItemCreateRequest(
            ItemToMonitor=ua.ReadValueId(NodeId=tag.node_id, AttributeId=ua.AttributeIds.Value),
            MonitoringMode=ua.MonitoringMode.Reporting, RequestedParameters=params)

    def _published(self, result: ua.PublishResult) -> None:
        """A publish response: its data changes as readings, in one call."""
        deliver = self._on_readings
        data = result.NotificationMessage.NotificationData
        if deliver is None or not data:
            return
        received = now_ms()
        handles = self._handles
        batch: list[Reading] = []
        for notification in data:
            if isinstance(notification, ua.DataChangeNotification):
                for item in notification.MonitoredItems:
                    address = handles.get(item.ClientHandle)
                    if address is not None and item.Value is not None:
                        batch.append(reading_of(address, item.Value, received))
            elif (isinstance(notification, ua.StatusChangeNotification) and notification.Status.is_bad()
                  and not self._lost):
                self._lost = (f"OPC UA server {self.where} ended the subscription: "
                              f"{notification.Status.name}")
        if batch:
            deliver(batch)

    # -- errors --------------------------------------------------------------------------------------

    async def _call(self, what: str, request: Any) -> Any:
        try:
            return await request
        except (UaError, OSError, TimeoutError, ConnectionError) as exc:
            raise SourceError(f"OPC UA server {self.where}: could not {what}: {_short(exc)}") from exc

    @staticmethod
    def _check_status(status: ua.StatusCode, what: str) -> None:
        if not status.is_good():
            raise SourceError(f"OPC UA server refused to {what}: {status.name}")


def der_first(der: bytes) -> bytes:
    """The first certificate of a DER chain (servers may send their chain)."""
    cert = uacrypto.x509_from_der(der)
    return cert.public_bytes(serialization.Encoding.DER) if cert is not None else der

