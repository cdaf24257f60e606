"""HTTP clients for the trackers tasks are exported to: one module per API, one interface."""
