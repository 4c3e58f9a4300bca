"""Application assembly: the service container, the FastAPI app and the web pages."""
