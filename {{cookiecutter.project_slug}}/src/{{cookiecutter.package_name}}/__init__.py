"""The service: `main.create_app`, a package per domain, `integrations/` for optional services."""
