"""Health, readiness, Prometheus metrics and the ownership log of the live service."""
