"""The session ticker runs each part when it is due and asks it when it is next due (a moved
clock stands in for time: the ticker's scheduling is what is tested, not its sleeping)."""

from __future__ import annotations

from server.realtime.core.ticker import RETRY_SECONDS, SessionTicker


async def test_parts_run_when_due_and_pokes_bring_them_forward() -> None:
    now = [100.0]
    ticker = SessionTicker("t", clock=lambda: now[0])
    runs: list[tuple[str, float]] = []

    async def every_second(at: float) -> float | None:
        runs.append(("periodic", at))
        return at + 1.0

    async def on_demand(at: float) -> float | None:
        runs.append(("demand", at))
        return None

    async def broken(at: float) -> float | None:
        runs.append(("broken", at))
        raise RuntimeError("a bug")

    ticker.add("periodic", every_second, 100.0)
    ticker.add("demand", on_demand)
    ticker.add("broken", broken, 100.0)
    await ticker.run_due()
    assert runs == [("periodic", 100.0), ("broken", 100.0)]
    now[0] = 100.5
    await ticker.run_due()
    assert len(runs) == 2  # nothing due yet
    ticker.poke("demand")
    ticker.poke("unknown")  # ignored
    await ticker.run_due()
    assert runs[2:] == [("demand", 100.5)]
    now[0] = 100.0 + RETRY_SECONDS
    await ticker.run_due()
    assert [name for name, _ in runs[3:]] == ["periodic", "broken"]  # a failure is retried
