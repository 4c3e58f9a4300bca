"""ASGI entry point for uvicorn (``assistant.app.asgi:app``)."""

from assistant.app.main import create_app

app = create_app()
