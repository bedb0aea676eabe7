"""HTTP adapter: FastAPI routes, dependencies and error mapping."""
