"""xAPI statements of an ended lesson, projected from its event log (pure)."""

from server.domain.xapi.statements import Identity, Statement, lesson_statements, statement_id

__all__ = ["Identity", "Statement", "lesson_statements", "statement_id"]
