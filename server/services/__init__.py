"""Application services: the domain's rules applied to stored data (thin, async)."""
