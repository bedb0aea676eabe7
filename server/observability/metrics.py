"""Every Prometheus metric of the service, in one place (``prometheus-client``).

The code that does the work calls one small function or metric here (a connection opened, a
command answered, a batch appended, a forward that failed, an alert raised); what is a state
rather than an event (sessions owned, relay subscribers and packets) is read when ``/metrics``
is scraped, from the engine of the app that serves the scrape (one app per process in
production; a process that runs several apps, as the test suite does, reports each its own).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from server.realtime.core.engine import RealtimeEngine

REGISTRY = CollectorRegistry(auto_describe=True)

# Latencies of live work are short: 1 ms to 5 s.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

CONNECTIONS_OPEN = Gauge(
    "hyflex_connections_open", "Live-session websockets open on this node", registry=REGISTRY
)
CONNECTIONS_TOTAL = Counter(
    "hyflex_connections", "Live-session websockets accepted (after hello)", registry=REGISTRY
)
COMMAND_SECONDS = Histogram(
    "hyflex_command_seconds",
    "Time from a command reaching its session's writer queue to its answer (owner node)",
    ["outcome"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
APPEND_SECONDS = Histogram(
    "hyflex_event_append_seconds",
    "Time to store one batch of events in the session's log (one transaction)",
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
FORWARD_FAILURES = Counter(
    "hyflex_forward_failures",
    "Commands this node could not route to their session's owner node",
    ["reason"],
    registry=REGISTRY,
)
ALERTS_SENT = Counter(
    "hyflex_alerts_sent",
    "Engagement alerts raised to staff (a site turning to alert, by kind)",
    ["kind"],
    registry=REGISTRY,
)


def connection_opened() -> None:
    CONNECTIONS_OPEN.inc()
    CONNECTIONS_TOTAL.inc()


def connection_closed() -> None:
    CONNECTIONS_OPEN.dec()


def command_answered(seconds: float, failed: bool) -> None:
    COMMAND_SECONDS.labels("error" if failed else "ok").observe(seconds)


def events_appended(seconds: float) -> None:
    APPEND_SECONDS.observe(seconds)


def forward_failed(reason: str) -> None:
    FORWARD_FAILURES.labels(reason).inc()


def alert_raised(kind: str) -> None:
    ALERTS_SENT.labels(kind).inc()


class RealtimeCollector(Collector):
    """Sessions owned and the relay's subscribers and packets, read at scrape time from the
    snapshot ``refresh`` took (the relay's stats are async, a collector is not)."""

    def __init__(self) -> None:
        self.owned = 0
        self.replicas = 0
        self.subscribers = 0
        self.publishers = 0
        self.packets_sent = 0
        self.packets_received = 0

    async def refresh(self, engine: RealtimeEngine | None) -> None:
        owned = replicas = subscribers = publishers = sent = received = 0
        for runtime in engine.runtimes() if engine is not None else ():
            if runtime.is_replica:
                replicas += 1
                continue
            owned += 1
            room = _room_of(runtime)
            if room is None:
                continue
            try:
                stats = await asyncio.wait_for(room.stats(), 2.0)
            except Exception:  # a closing room: counted next time
                continue
            subscribers += len({s.subscriber_id for s in stats.subscribers})
            publishers += len({p.publisher_id for p in stats.publishers})
            sent += sum(s.packets_sent for s in stats.subscribers)
            received += sum(p.packets_received for p in stats.publishers)
        self.owned, self.replicas = owned, replicas
        self.subscribers, self.publishers = subscribers, publishers
        # counters never go down: rooms that closed keep their packets counted
        self.packets_sent = max(self.packets_sent, sent)
        self.packets_received = max(self.packets_received, received)

    def collect(self) -> Iterator[Any]:
        yield GaugeMetricFamily(
            "hyflex_sessions_owned", "Live sessions whose single writer runs here", self.owned
        )
        yield GaugeMetricFamily(
            "hyflex_sessions_replicated",
            "Live sessions served here as read-only copies of another node's",
            self.replicas,
        )
        yield GaugeMetricFamily(
            "hyflex_relay_subscribers",
            "Receiving media legs on this node's relay",
            self.subscribers,
        )
        yield GaugeMetricFamily(
            "hyflex_relay_publishers", "Sending media legs on this node's relay", self.publishers
        )
        yield CounterMetricFamily(
            "hyflex_relay_packets_sent",
            "RTP packets the relay sent to subscribers (rooms open now and before)",
            self.packets_sent,
        )
        yield CounterMetricFamily(
            "hyflex_relay_packets_received",
            "RTP packets the relay received from publishers",
            self.packets_received,
        )


def _room_of(runtime: Any) -> Any:
    extensions = getattr(runtime, "extensions", None)  # the runtime's typed registry
    if extensions is None or "media" not in extensions:
        return None
    return getattr(extensions["media"], "room", None)


REALTIME = RealtimeCollector()
REGISTRY.register(REALTIME)
