"""Data sources by name or path: the registered data sets, image folders and unpaired A/B folders."""

from .load import data_root, load_data

__all__ = ["data_root", "load_data"]
