"""One module per CLI command group; ``ucp_connector.cli`` mounts them."""
