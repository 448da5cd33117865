"""The thin wrapper over paho-mqtt: the one place the MQTT and Sparkplug connectors import paho.

paho runs its network loop in a thread of its own; messages are handed to a callback on that thread (the
intake is thread-safe), and connection events are passed to asyncio with `call_soon_threadsafe`.
Reconnecting is the coordinator's job: paho's own retry is pushed far out and the client is torn down as
soon as the connection is lost, so there is one reconnection policy (backoff with jitter) and not two.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from synfab.connect.runtime import SourceError, now_ms

MessageHandler = Callable[[str, bytes, int], None]


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    tls: bool

    @classmethod
    def parse(cls, url: str) -> Broker:
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
            raise ValueError(f"broker URL must look like mqtt://host:1883 or mqtts://host:8883, not {url!r}")
        tls = parts.scheme in ("mqtts", "ssl")
        return cls(parts.hostname, parts.port or (8883 if tls else 1883), tls)

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


class MqttLink:
    """One MQTT connection: connect, subscribe, publish, and learn when it is lost."""

    def __init__(
        self,
        url: str,
        client_id: str,
        on_message: MessageHandler,
        *,
        username: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
        tls_insecure: bool = False,
        will: Will | None = None,
        keepalive_s: int = 30,
    ) -> None:
        self.broker = Broker.parse(url)
        self.keepalive_s = keepalive_s
        self._on_message_handler = on_message
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True, protocol=paho.MQTTv311
        )
        self._client.reconnect_delay_set(min_delay=3600, max_delay=3600)
        if username:
            self._client.username_pw_set(username, password)
        if self.broker.tls or ca_file:
            context = ssl.create_default_context(cafile=ca_file)
            if tls_insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._client.tls_set_context(context)
        if will:
            self._client.will_set(will.topic, will.payload, will.qos, will.retain)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connected: asyncio.Future[None] | None = None
        self._lost: asyncio.Future[str] | None = None
        self._subscribed: dict[int, asyncio.Future[None]] = {}
        # The SUBACK may come (on paho's thread) before `subscribe` has filed its future: both hold this.
        self._sub_lock = threading.Lock()
        self._early_acks: dict[int, list] = {}

    # -- paho's thread -----------------------------------------------------------------------------------

    def _settle(
        self, future: asyncio.Future | None, result: object = None, error: Exception | None = None
    ) -> None:
        def apply() -> None:
            if future is not None and not future.done():
                future.set_exception(error) if error else future.set_result(result)

        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(apply)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        if reason_code.is_failure:
            self._settle(
                self._connected, error=SourceError(f"broker {self.broker} refused us: {reason_code}")
            )
        else:
            self._settle(self._connected)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        why = f"lost the connection to broker {self.broker} ({reason_code})"
        self._settle(self._connected, error=SourceError(why))
        self._settle(self._lost, why)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:  # noqa: ANN001
        with self._sub_lock:
            future = self._subscribed.pop(mid, None)
            if future is None:
                self._early_acks[mid] = list(reason_codes)
                return
        failed = [str(rc) for rc in reason_codes if rc.is_failure]
        self._settle(
            future,
            error=SourceError(f"broker {self.broker} refused a subscription: {failed}") if failed else None,
        )

    def _on_message(self, client, userdata, message) -> None:  # noqa: ANN001
        self._on_message_handler(message.topic, bytes(message.payload), now_ms())

    # -- asyncio side ------------------------------------------------------------------------------------

    async def connect(self, timeout_s: float = 10.0) -> None:
        self._loop = asyncio.get_running_loop()
        self._connected = self._loop.create_future()
        self._lost = self._loop.create_future()
        try:
            # The TCP connect in a worker thread, so a refused connection is an error at once.
            await asyncio.wait_for(
                self._loop.run_in_executor(
                    None,
                    lambda: self._client.connect(
                        self.broker.host, self.broker.port, keepalive=self.keepalive_s
                    ),
                ),
                timeout_s,
            )
            self._client.loop_start()
            await asyncio.wait_for(self._connected, timeout_s)
        except TimeoutError as exc:
            raise SourceError(f"broker {self.broker} did not answer within {timeout_s:g} s") from exc
        except (OSError, ValueError, ssl.SSLError) as exc:
            raise SourceError(f"cannot reach broker {self.broker}: {exc}") from exc

    async def subscribe(self, filters: list[str], qos: int = 1, timeout_s: float = 10.0) -> None:
        """Subscribe and wait for the broker's acknowledgement."""
        assert self._loop is not None
        future = self._loop.create_future()
        with self._sub_lock:
            result, mid = self._client.subscribe([(f, qos) for f in filters])
            if result != paho.MQTT_ERR_SUCCESS or mid is None:
                raise SourceError(f"cannot subscribe at broker {self.broker}: {paho.error_string(result)}")
            early = self._early_acks.pop(mid, None)
            if early is None:
                self._subscribed[mid] = future
        if early is not None:
            failed = [str(rc) for rc in early if rc.is_failure]
            if failed:
                raise SourceError(f"broker {self.broker} refused a subscription: {failed}")
            return
        try:
            await asyncio.wait_for(future, timeout_s)
        except TimeoutError as exc:
            raise SourceError(f"broker {self.broker} did not acknowledge the subscription") from exc

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        """Queue a message (thread-safe); a message that cannot be queued is a lost connection."""
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            raise SourceError(f"cannot publish to broker {self.broker}: {paho.error_string(info.rc)}")

    async def publish_confirmed(
        self, topic: str, payload: bytes, qos: int = 1, retain: bool = False, timeout_s: float = 10.0
    ) -> None:
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        end = asyncio.get_running_loop().time() + timeout_s
        while not info.is_published():
            if info.rc not in (paho.MQTT_ERR_SUCCESS,) or asyncio.get_running_loop().time() > end:
                raise SourceError(f"broker {self.broker} did not take {topic}")
            await asyncio.sleep(0.01)

    async def wait_lost(self, stop: asyncio.Event) -> None:
        """Return when `stop` is set; raise `SourceError` when the connection is lost first."""
        assert self._lost is not None
        stopper = asyncio.ensure_future(stop.wait())
        try:
            done, _ = await asyncio.wait({stopper, self._lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if self._lost.done() and not stop.is_set():
            raise SourceError(self._lost.result())

    def close(self) -> None:
        """Disconnect cleanly (no Will) and stop paho's thread."""
        try:
            self._client.disconnect()
        finally:
            self._client.loop_stop()
