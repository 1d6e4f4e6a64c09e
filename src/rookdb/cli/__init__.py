"""The `rookdb` command line: thin commands over the core API."""
