"""Builds the node's optional compiled kernels; everything else is in pyproject.toml.

Each kernel is optional: if it cannot be compiled the install goes on and the module beside it runs its Python
(or numpy) code instead, with the same answers (tests hold both to them):

- node/index/_kernel.c: the PDQ index's probing and scanning loops (node/index/mih.py, flat.py);
- node/storage/_rowscan.c: reading the record rows of match hits (node/storage/store.py, `active_hits`) and the
  start-up check's loop over the rows and lookup tables (node/storage/integrity.py, `_check_lookups`);
- node/api/_wire.c: encoding MatchResponse bytes (node/api/match_wire.py).
"""

from setuptools import Extension, setup

FLAGS = ["-O3", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"]


def kernel(name: str, source: str) -> Extension:
    return Extension(name, sources=[source], extra_compile_args=FLAGS, optional=True)


setup(
    ext_modules=[
        kernel("node.index._kernel", "node/index/_kernel.c"),
        kernel("node.storage._rowscan", "node/storage/_rowscan.c"),
        kernel("node.api._wire", "node/api/_wire.c"),
    ]
)
