"""Realtime adapter: the websocket gateway, fan-out hub, session runtimes and event log."""
