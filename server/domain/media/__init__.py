"""Media rules that need no relay: who publishes what, who receives whom (pure)."""
