"""OPC UA connector against real servers on free local ports: the machining simulation (asyncua), secured
variants of it, and an OPC UA server of another implementation (node-opcua)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from synfab.connect.opcua import Credentials, OpcUaConfig, OpcUaCoordinator, browse
from synfab.connect.opcua.certs import application_uri, make_self_signed_cert
from synfab.connect.runtime import GOOD, SourceAddress, SourceError
from synfab.sim.opcua_server import MachiningSim, ServerSecurity, node_id
from tests.conftest import need
from tests.connect.machines.support import MemoryIntake, free_port, until

MACHINES = ["CNC-01", "DRL-01"]
SEQ = node_id("CNC-01", "Sequence")


@pytest.fixture(scope="module")
def sim() -> Iterator[MachiningSim]:
    server = MachiningSim(MACHINES, port=free_port(), seed=3, record=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def config(sim: MachiningSim, **extra: object) -> OpcUaConfig:
    return OpcUaConfig(endpoint=sim.endpoint, publishing_interval_ms=100, sampling_interval_ms=100, **extra)


async def running(coord: OpcUaCoordinator, intake: MemoryIntake) -> asyncio.Task[None]:
    task = asyncio.create_task(coord.run())
    await until(lambda: intake.is_connected, 10)
    return task


async def stopped(coord: OpcUaCoordinator, task: asyncio.Task[None]) -> None:
    coord.stop()
    await asyncio.wait_for(task, 10)


# -- subscription ------------------------------------------------------------------------------------


def test_subscription_delivers_every_change_with_the_source_timestamp(sim: MachiningSim) -> None:
    addresses = [SourceAddress(a) for a in sim.tag_addresses("CNC-01").values()]
    intake = MemoryIntake()
    coord = OpcUaCoordinator("machining", config(sim), addresses, intake)

    async def scenario() -> None:
        task = await running(coord, intake)
        try:
            sim.set_working("CNC-01", True)
            for _ in range(6):
                sim.tick(30.0)
                await asyncio.sleep(0.25)
            await until(lambda: sim.snapshot("CNC-01").sequence in intake.values(SEQ), 5)
        finally:
            await stopped(coord, task)

    asyncio.run(scenario())
    published = sim.published(SEQ)
    received = {(r.ts_ms, r.value) for r in intake.readings_seen if r.address == SEQ}
    # The value at subscription time and every one published after it, with the server's source timestamps.
    first = min(received)
    assert [p for p in published if p >= first] == sorted(received)
    assert len(received) >= 7
    parts = [r for r in intake.readings_seen if r.address == node_id("CNC-01", "PartCount")]
    assert parts and all(r.quality == GOOD and isinstance(r.value, int) for r in parts)
    assert parts[-1].value == sim.snapshot("CNC-01").part_count > 0
    assert isinstance(intake.values(node_id("CNC-01", "Running"))[-1], bool)
    assert isinstance(intake.values(node_id("CNC-01", "Temperature"))[-1], float)
    assert intake.duplicates() == 0
    assert [up for up, _ in intake.states] == [True, False]


def test_each_tag_is_sampled_at_its_own_interval(sim: MachiningSim) -> None:
    """The server keeps the samples of a tag taken between two publish responses (the queue is sized from the
    tag's sampling interval): of a value written every 25 ms, a tag sampled every 50 ms keeps every change,
    one sampled every 1000 ms a few per publish."""
    fast, slow = node_id("DRL-01", "Temperature"), node_id("DRL-01", "Vibration")
    intake = MemoryIntake()
    cfg = OpcUaConfig(endpoint=sim.endpoint, publishing_interval_ms=500)
    coord = OpcUaCoordinator("machining", cfg, [SourceAddress(fast, 50), SourceAddress(slow, 1000)], intake)

    async def scenario() -> None:
        task = await running(coord, intake)
        try:
            await until(lambda: intake.values(fast) and intake.values(slow), 5)
            for i in range(1, 81):
                sim.write(fast, 100.0 + i)
                sim.write(slow, 100.0 + i)
                await asyncio.sleep(0.025)
            await until(lambda: 180.0 in intake.values(fast) and 180.0 in intake.values(slow), 5)
        finally:
            await stopped(coord, task)

    asyncio.run(scenario())
    fast_seen = [v for v in intake.values(fast) if v > 100]
    slow_seen = [v for v in intake.values(slow) if v > 100]
    assert fast_seen == [100.0 + i for i in range(1, 81)]
    assert len(slow_seen) <= 24, len(slow_seen)
    assert fast_seen == sorted(fast_seen) and slow_seen == sorted(slow_seen)


def test_bad_addresses_and_unknown_nodes_are_quarantined_and_the_rest_flows(sim: MachiningSim) -> None:
    intake = MemoryIntake()
    addresses = [SourceAddress(SEQ), SourceAddress("ns=2;s=CNC-99.Sequence"), SourceAddress("not a node id")]
    coord = OpcUaCoordinator("machining", config(sim), addresses, intake)

    async def scenario() -> None:
        task = await running(coord, intake)
        try:
            await until(lambda: bool(intake.values(SEQ)), 5)
        finally:
            await stopped(coord, task)

    asyncio.run(scenario())
    reasons = {(reason, payload) for reason, _, payload in intake.quarantined}
    assert reasons == {("opcua_bad_address", "not a node id"),
                       ("opcua_node_refused", "ns=2;s=CNC-99.Sequence")}
    assert any("BadNodeIdUnknown" in detail for _, detail, _ in intake.quarantined)


# -- browse and probe --------------------------------------------------------------------------------


def test_browse_lists_the_machines_and_their_variables(sim: MachiningSim) -> None:
    top = asyncio.run(browse(config(sim)))
    machines = {n["node_id"]: n for n in top if n["node_id"].startswith("ns=2;")}
    assert set(machines) == {"ns=2;s=CNC-01", "ns=2;s=DRL-01"}
    assert machines["ns=2;s=CNC-01"]["node_class"] == "Object" and machines["ns=2;s=CNC-01"]["has_children"]
    assert any(n["browse_name"] == "0:Server" for n in top)

    variables = asyncio.run(browse(config(sim).model_dump(), None, "ns=2;s=CNC-01"))
    by_name = {n["display_name"]: n for n in variables}
    assert list(by_name) == ["Running", "Alarm", "Mode", "PartCount", "ScrapCount", "SpindleSpeed",
                             "Temperature", "Vibration", "Sequence"]
    assert by_name["Running"] == {"node_id": "ns=2;s=CNC-01.Running", "browse_name": "2:Running",
                                  "display_name": "Running", "node_class": "Variable", "data_type": "Boolean",
                                  "has_children": False}
    assert by_name["PartCount"]["data_type"] == "UInt32" and by_name["Temperature"]["data_type"] == "Double"

    with pytest.raises(SourceError, match="not an OPC UA node id"):
        asyncio.run(browse(config(sim), None, "CNC-01"))


def test_probe_reads_the_server_and_the_first_values(sim: MachiningSim) -> None:
    addresses = [SourceAddress(SEQ), SourceAddress(node_id("CNC-01", "Mode"))]
    coord = OpcUaCoordinator("machining", config(sim), addresses, MemoryIntake())
    summary = asyncio.run(coord.probe())
    assert summary["product"] == "synfab MachiningSim" and summary["state"] == "Running"
    assert "urn:synfab:sim:machining" in summary["namespaces"]
    assert set(summary["values"]) == {SEQ, node_id("CNC-01", "Mode")} and summary["bad_quality"] == []
    assert summary["security"] == "None"


def test_an_endpoint_where_nothing_listens_is_a_readable_source_error() -> None:
    port = free_port()
    cfg = OpcUaConfig(endpoint=f"opc.tcp://127.0.0.1:{port}/nothing", request_timeout_ms=2000)
    coord = OpcUaCoordinator("machining", cfg, [SourceAddress(SEQ)], MemoryIntake())
    with pytest.raises(SourceError) as caught:
        asyncio.run(coord.probe())
    assert str(caught.value) == f"OPC UA server opc.tcp://127.0.0.1:{port}/nothing cannot be reached: " \
                                "connection refused"


# -- security ----------------------------------------------------------------------------------------

USERS = {"operator": "Spindle-42"}


@pytest.fixture(scope="module")
def secured() -> Iterator[tuple[MachiningSim, str]]:
    cert, key = make_self_signed_cert("MachiningSim", "urn:synfab:sim:machining-server")
    server = MachiningSim(["CNC-01"], port=free_port(), security=ServerSecurity(cert, key, users=USERS))
    server.start()
    try:
        yield server, cert
    finally:
        server.stop()


@pytest.fixture(scope="module")
def client_cert() -> tuple[str, str]:
    return make_self_signed_cert("synfab connector", "urn:synfab:connector:test", key_password="k3y")


def secured_config(server: MachiningSim, server_cert: str, client_cert: str, mode: str,
                   **extra: object) -> OpcUaConfig:
    return OpcUaConfig(endpoint=server.endpoint, security_mode=mode, username="operator",  # type: ignore[arg-type]
                       client_certificate_pem=client_cert, server_certificate_pem=server_cert,
                       publishing_interval_ms=100, **extra)


@pytest.mark.parametrize("mode", ["Sign", "SignAndEncrypt"])
def test_a_secured_channel_with_certificates_and_a_password_receives_data(
        secured: tuple[MachiningSim, str], client_cert: tuple[str, str], mode: str) -> None:
    server, server_cert = secured
    cert, key = client_cert
    secret = Credentials(USERS["operator"], private_key_pem=key, private_key_password="k3y").to_secret()
    intake = MemoryIntake()
    coord = OpcUaCoordinator("machining", secured_config(server, server_cert, cert, mode),
                             [SourceAddress(SEQ)], intake, secret=secret)

    async def scenario() -> None:
        summary = await coord.probe()
        assert summary["security"] == f"{mode} Basic256Sha256" and summary["values"][SEQ] is not None
        task = await running(coord, intake)
        try:
            server.tick(1.0)
            expected = server.snapshot("CNC-01").sequence
            await until(lambda: expected in intake.values(SEQ), 5)
        finally:
            await stopped(coord, task)

    asyncio.run(scenario())
    assert intake.duplicates() == 0


def test_a_wrong_password_is_refused_with_a_clear_error(secured: tuple[MachiningSim, str],
                                                        client_cert: tuple[str, str]) -> None:
    server, server_cert = secured
    cert, key = client_cert
    secret = json.dumps({"password": "guess", "private_key_pem": key, "private_key_password": "k3y"})
    intake = MemoryIntake()
    coord = OpcUaCoordinator("machining", secured_config(server, server_cert, cert, "SignAndEncrypt"),
                             [SourceAddress(SEQ)], intake, secret=secret)
    with pytest.raises(SourceError, match=r"refused to sign in user 'operator': wrong user name or password"):
        asyncio.run(coord.probe())

    async def scenario() -> None:
        task = asyncio.create_task(coord.run())
        await until(lambda: bool(intake.states), 10)
        await stopped(coord, task)

    asyncio.run(scenario())
    up, error = intake.states[0]
    assert not up and error and "wrong user name or password" in error and "BadUserAccessDenied" in error


def test_a_server_presenting_another_certificate_is_not_trusted(secured: tuple[MachiningSim, str],
                                                                client_cert: tuple[str, str]) -> None:
    server, _ = secured
    cert, key = client_cert
    stranger, _ = make_self_signed_cert("somebody else", "urn:elsewhere")
    secret = Credentials(USERS["operator"], key, "k3y").to_secret()
    coord = OpcUaCoordinator("machining", secured_config(server, stranger, cert, "Sign"),
                             [SourceAddress(SEQ)], MemoryIntake(), secret=secret)
    with pytest.raises(SourceError, match="not the trusted one"):
        asyncio.run(coord.probe())
    # Trusting any server certificate is a choice the settings must say out loud.
    with pytest.raises(ValueError, match="server certificate to trust"):
        OpcUaConfig(endpoint=server.endpoint, security_mode="Sign", client_certificate_pem=cert)
    trusting = OpcUaConfig(endpoint=server.endpoint, security_mode="Sign", client_certificate_pem=cert,
                           trust_any_server_certificate=True, username="operator")
    summary = asyncio.run(OpcUaCoordinator("machining", trusting, [], MemoryIntake(), secret=secret).probe())
    assert summary["state"] == "Running"


def test_the_secret_is_a_password_or_json_with_the_private_key() -> None:
    assert Credentials.from_secret("plain") == Credentials(password="plain")
    assert Credentials.from_secret(None) == Credentials()
    both = Credentials.from_secret('{"password": "p", "private_key_pem": "-----BEGIN"}')
    assert both == Credentials("p", "-----BEGIN", None)
    assert Credentials.from_secret(both.to_secret()) == both
    with pytest.raises(ValueError, match="keys OPC UA does not use: pasword"):
        Credentials.from_secret('{"pasword": "p"}')
    cert, _ = make_self_signed_cert("x", "urn:synfab:x", hosts=["plc.local", "10.0.0.5"])
    assert application_uri(cert) == "urn:synfab:x"


# -- another implementation: node-opcua --------------------------------------------------------------

NODE_SERVER_JS = r"""
// An OPC UA server of another implementation (node-opcua), for the interop test.
const { OPCUAServer } = require("node-opcua-server");
const { Variant, DataType } = require("node-opcua-variant");
const { nodesets } = require("node-opcua-nodesets");

const port = parseInt(process.argv[2], 10);
(async () => {
  const server = new OPCUAServer({ port, resourcePath: "/interop", nodeset_filename: [nodesets.standard],
                                   buildInfo: { productName: "node-opcua interop" } });
  await server.initialize();
  const space = server.engine.addressSpace;
  const ns = space.getOwnNamespace();
  const press = ns.addObject({ organizedBy: space.rootFolder.objects, browseName: "Press",
                              nodeId: "s=Press" });
  // A counter set every 100 ms (exception-based), and two values read when sampled that change every 10 ms.
  let counter = 0;
  const counterVar = ns.addVariable({ componentOf: press, browseName: "Counter", nodeId: "s=Press.Counter",
    dataType: "Int32", value: new Variant({ dataType: DataType.Int32, value: 0 }) });
  setInterval(() => {
    counter += 1;
    counterVar.setValueFromSource(new Variant({ dataType: DataType.Int32, value: counter }));
  }, 100);
  for (const name of ["FastA", "FastB"]) {
    ns.addVariable({ componentOf: press, browseName: name, nodeId: `s=Press.${name}`, dataType: "Double",
      minimumSamplingInterval: 50,
      value: { get: () => new Variant({ dataType: DataType.Double, value: Math.floor(Date.now() / 10) }) } });
  }
  await server.start();
  console.log("READY " + server.getEndpointUrl());
})().catch((err) => { console.error(err); process.exit(1); });
"""


@pytest.fixture(scope="module")
def node_opcua(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A node-opcua server on a free port; its endpoint. Needs Node.js and node-opcua-server installed in
    the folder SYNFAB_TEST_NODE_OPCUA names (.ci/run does)."""
    folder = os.environ.get("SYNFAB_TEST_NODE_OPCUA")
    node = shutil.which("node")
    need(bool(folder) and node is not None,
         "node-opcua: set SYNFAB_TEST_NODE_OPCUA to a folder where `npm install node-opcua-server` ran")
    modules = Path(folder or "") / "node_modules"
    need((modules / "node-opcua-server").is_dir(), f"node-opcua: no node-opcua-server in {modules}")
    script = tmp_path_factory.mktemp("node-opcua") / "server.js"
    script.write_text(NODE_SERVER_JS)
    port = free_port()
    process = subprocess.Popen([node or "node", str(script), str(port)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "NODE_PATH": str(modules)})
    try:
        started = time.monotonic()
        said = []  # node-opcua may warn first (its node version, a new PKI folder) before it is ready
        line = process.stdout.readline() if process.stdout else ""
        while line and not line.startswith("READY") and time.monotonic() - started < 60:
            said.append(line)
            line = process.stdout.readline() if process.stdout else ""
        if not line.startswith("READY"):
            process.kill()
            errors = process.stderr.read() if process.stderr else ""
            raise AssertionError(f"node-opcua server did not start: {''.join(said)}{line}{errors}")
        assert time.monotonic() - started < 60
        yield f"opc.tcp://127.0.0.1:{port}/interop"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_another_implementation_node_opcua_is_browsed_and_subscribed(node_opcua: str) -> None:
    counter, fast, slow = "ns=1;s=Press.Counter", "ns=1;s=Press.FastA", "ns=1;s=Press.FastB"
    cfg = OpcUaConfig(endpoint=node_opcua, publishing_interval_ms=100)
    children = asyncio.run(browse(cfg, None, "ns=1;s=Press"))
    assert {(c["node_id"], c["data_type"]) for c in children} == {(counter, "Int32"), (fast, "Double"),
                                                                  (slow, "Double")}
    intake = MemoryIntake()
    coord = OpcUaCoordinator("press", cfg, [SourceAddress(counter, 20), SourceAddress(fast, 100),
                                            SourceAddress(slow, 1000)], intake)
    summary = asyncio.run(coord.probe())
    assert summary["product"] == "node-opcua interop"

    async def scenario() -> None:
        task = await running(coord, intake)
        try:
            await asyncio.sleep(3.0)
        finally:
            await stopped(coord, task)

    asyncio.run(scenario())
    counts = intake.values(counter)
    # Set every 100 ms, sampled every 20 ms: every value arrives, in order, with the server's timestamps.
    assert len(counts) >= 20 and counts == list(range(counts[0], counts[0] + len(counts))), counts
    stamps = [r.ts_ms for r in intake.readings_seen if r.address == counter]
    assert stamps == sorted(stamps) and abs(stamps[-1] - time.time() * 1000) < 10_000
    # Sampled by the server at the interval each tag asked for.
    assert len(intake.values(fast)) >= 20, len(intake.values(fast))
    assert 2 <= len(intake.values(slow)) <= 6, len(intake.values(slow))
    assert intake.duplicates() == 0


def test_the_api_browses_a_connector_server_and_marks_what_is_mapped(db, plant, sim: MachiningSim) -> None:  # type: ignore[no-untyped-def]
    from synfab.connect.choices import ConnectorKind
    from synfab.connect.schemas import ConnectorCreate
    from synfab.connect.service import create_connector
    from synfab.telemetry.schemas import TagCreate
    from synfab.telemetry.service import create_tag
    from tests.conftest import add_user, make_client, sign_in

    with db.uow() as uow:
        c = create_connector(uow, ConnectorCreate(code="PLC", name="PLC", kind=ConnectorKind.OPCUA, site_id=plant.site,
                                                  config={"endpoint": sim.endpoint}))
        create_tag(uow, TagCreate(connector_id=c.id, address=node_id(MACHINES[0], "Temperature"),
                                  equipment_id=plant.wc1, signal="temperature"))
        uow.commit()
    add_user(db, "eng", "engineer", plant.site)
    add_user(db, "it", "it_admin", plant.site)
    client = make_client(db)
    sign_in(client, "eng")
    assert client.get(f"/api/v1/connectors/{c.id}/browse").status_code == 403  # engineers see, IT connects
    sign_in(client, "it")
    machine = client.get(f"/api/v1/connectors/{c.id}/browse",
                         params={"node_id": f"ns=2;s={MACHINES[0]}"}).json()["children"]
    temperature = next(n for n in machine if n["node_id"] == node_id(MACHINES[0], "Temperature"))
    assert temperature["mapped"] and not next(n for n in machine if n["browse_name"].endswith("Alarm"))["mapped"]
