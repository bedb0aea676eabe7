"""Persistence: SQLModel tables on an async engine (SQLite by default, PostgreSQL by URL)."""
