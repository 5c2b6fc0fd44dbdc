"""Buwei's HTTP API and web page (FastAPI). Build it with `api.app.create_app()`; importing is free."""
