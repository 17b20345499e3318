"""The service's Prometheus metrics: instruments, scrape-time readings, the worker's port.

Every process builds one `CollectorRegistry` (never prometheus_client's global
`REGISTRY`), so tests can build as many object graphs as they like.
"""
