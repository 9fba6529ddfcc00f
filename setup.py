"""Package list for the registry/ -> genzoo, core/ -> genzoo.core, plugins/ -> genzoo.plugins mapping.

pyproject.toml holds all metadata; this file only enumerates the subpackages under each
mapped folder, which setuptools' declarative ``packages.find`` cannot rename.
"""

from setuptools import find_packages, setup


def under(folder: str, package: str) -> list[str]:
    return [package] + [f"{package}.{sub}" for sub in find_packages(folder)]


setup(packages=under("registry", "genzoo") + under("core", "genzoo.core") + under("plugins", "genzoo.plugins"))
