"""Registers fine and describes fine, but its builder module fails to import, as one with a missing
dependency would: only building the model fails, naming this plugin and its distribution."""

from dataclasses import dataclass

from genzoo import ModelSpec, hookimpl


@dataclass(frozen=True)
class Config:
    image_size: int = 8


@hookimpl
def register_models(register):
    register(ModelSpec(name="broken-builder", family="broken", config="genzoo_broken.bad_builder:Config",
                       builder="genzoo_broken.needs_missing:Model", data="digits"))
