"""Builds the PDQ index's compiled kernel (node/index/_kernel.c); everything else is in pyproject.toml.

The kernel is optional: if it cannot be compiled the install goes on and node/index uses its numpy code paths.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "node.index._kernel",
            sources=["node/index/_kernel.c"],
            extra_compile_args=["-O3", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        )
    ]
)
