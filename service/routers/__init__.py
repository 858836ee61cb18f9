"""FastAPI routers: thin routes that parse, authorise, call one query, shape the answer."""
