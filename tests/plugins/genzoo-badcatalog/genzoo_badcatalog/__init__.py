"""genzoo-badcatalog: registers no code, only variants of built-in models in its zoo.toml, which has a typo."""
