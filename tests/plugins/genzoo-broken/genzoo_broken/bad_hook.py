"""Imports fine but raises inside its hook, after registering one model."""

from genzoo import ModelSpec, hookimpl


@hookimpl
def register_models(register):
    register(ModelSpec(name="half-registered", family="broken", config="x:y", builder="x:z"))
    raise RuntimeError("this plugin is broken on purpose")
