"""The runtime's registry of extensions: by name, by message family, typed; the gateway's one
dispatch table routes each extension family to the extension and domain commands to the
writer."""

from __future__ import annotations

import pytest

from server.realtime.core import gateway, protocol
from server.realtime.core.extension import Extensions, OnClose, SessionExtension


class _Family(OnClose):
    def __init__(self, name: str, families: tuple[str, ...]) -> None:
        super().__init__(name, self._noop)
        self.families = families

    async def _noop(self) -> None:
        return None


async def _release() -> None:
    return None


def test_registry_by_name_family_and_type() -> None:
    media, cluster = _Family("media", ("media",)), OnClose("cluster", _release)
    registry = Extensions()
    registry.add(media)
    registry.add(cluster)
    assert isinstance(media, SessionExtension)
    assert [e.name for e in registry] == ["media", "cluster"]
    assert registry.for_family("media") is media and registry.for_family("poll") is None
    assert registry.get("media", _Family) is media
    assert registry.get("cluster", _Family) is None  # there, but not of that type
    assert "media" in registry and registry["cluster"] is cluster
    with pytest.raises(ValueError):
        registry.add(_Family("media", ()))


def test_dispatch_table_covers_every_command_family() -> None:
    for name in protocol.COMMANDS:
        assert gateway.DISPATCH[name.split(".", 1)[0]] is gateway._command
    assert gateway.DISPATCH["ping"] is gateway._pong
    families = {f for fams, _ in gateway.EXTENSIONS for f in fams}
    assert families == {"media", "engagement"}
    assert not families & {n.split(".", 1)[0] for n in protocol.COMMANDS}
