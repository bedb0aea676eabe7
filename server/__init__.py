"""HyFlex Live server: a real-time hybrid classroom service."""
