"""Package data: the evaluators genzoo ships (one folder each, and manifest.json). No code.

A package (rather than a bare folder) so that setuptools installs it as one, with its files as
package data, and ``genzoo.core.metrics.extractors.evaluator.SHIPPED_DIR`` finds it in every install.
"""
