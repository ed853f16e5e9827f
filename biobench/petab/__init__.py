"""PEtab v1: import real estimation problems, export synthetic ones (issue 8)."""

from biobench.petab.importer import is_petab_spec, load_petab_problem

__all__ = ["is_petab_spec", "load_petab_problem"]
