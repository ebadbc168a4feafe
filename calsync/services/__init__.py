"""Domain operations (one transaction each) that the web layer and the CLI call. See docs/architecture.md."""
