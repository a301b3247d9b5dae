# Websocket routes are collected here so asgi.py stays a fixed entry point; apps add theirs as they grow.
websocket_urlpatterns: list = []
