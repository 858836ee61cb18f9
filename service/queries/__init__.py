"""SQL for the service, one module per subject; callers own the transaction."""
