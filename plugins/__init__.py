"""Built-in plugins, one folder each, registered through the "genzoo" entry-point group."""
