"""Which sink listens to which published track, by key, so either side may come first."""

from __future__ import annotations

from collections.abc import Callable

from streaming.relay_source import RelaySource, Sink, SourceKey


class RelayHub:
    """Sources by key and sinks bound to keys; a republished track reaches existing sinks."""

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self._on_change = on_change
        self._sources: dict[SourceKey, RelaySource] = {}
        self._bindings: dict[Sink, SourceKey] = {}

    def source(self, key: SourceKey) -> RelaySource | None:
        return self._sources.get(key)

    @property
    def sources(self) -> tuple[RelaySource, ...]:
        return tuple(self._sources.values())

    @property
    def source_count(self) -> int:
        return len(self._sources)

    @property
    def sink_count(self) -> int:
        return len(self._bindings)

    @property
    def task_count(self) -> int:
        return sum(source.task_count for source in self._sources.values())

    def add_source(self, source: RelaySource) -> None:
        old = self._sources.get(source.key)
        if old is not None:
            old.end()
        self._sources[source.key] = source
        waiting = [sink for sink, key in self._bindings.items() if key == source.key]
        for sink in waiting:
            source.attach(sink)
            sink.on_gap(source)
        if waiting:
            source.request_keyframe()
        self._changed()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    def remove_source(self, source: RelaySource) -> None:
        if self._sources.get(source.key) is source:
            del self._sources[source.key]
            self._changed()
        source.end()

    def bind(self, sink: Sink, key: SourceKey | None) -> None:
        """Point ``sink`` at ``key`` (None: at nothing); it resumes at the next keyframe."""
        old = self._bindings.pop(sink, None)
        if old is not None:
            old_source = self._sources.get(old)
            if old_source is not None:
                old_source.detach(sink)
        if key is None:
            return
        self._bindings[sink] = key
        source = self._sources.get(key)
        if source is not None:
            source.attach(sink)
            sink.on_gap(source)
            if not source.replay_recent(sink):
                source.request_keyframe()

    def binding(self, sink: Sink) -> SourceKey | None:
        return self._bindings.get(sink)

    def unbind(self, sink: Sink) -> None:
        self.bind(sink, None)

    def close(self) -> None:
        for source in tuple(self._sources.values()):
            source.end()
        self._sources.clear()
        self._bindings.clear()
