"""PEtab v1: import real estimation problems, export synthetic ones."""

from biobench.petab.importer import load_petab_problem

__all__ = ["load_petab_problem"]
