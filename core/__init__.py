"""The genzoo engine: configs, data pipeline, trainer, checkpoints.

It knows no model family and no plugin; the registry (the ``genzoo`` package) and the
plugins build on it. Importing this package imports no torch: modules that need torch
are imported by name where they are used.
"""
