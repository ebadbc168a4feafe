"""The REST API's routers, one per resource. Handlers stay thin: parse, call one service, shape the answer."""
