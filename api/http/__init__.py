"""The HTTP service (FastAPI): the app, its middleware, its errors and its routes."""
