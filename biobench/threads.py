"""How many compute threads a biobench process may run: one per process unless the user raises it.

numpy's BLAS (OpenBLAS, often loaded twice: numpy's and scipy's), torch's OpenMP pool and
libgomp each size themselves to the whole machine, so on a shared 2-core machine they spin-wait
on each other and on whatever else runs: ``biobench run --init cvae --opt bo`` on BIOMD0000000012
took 8 min 36 s as installed and 56 s with one BLAS thread on a loaded Intel Xeon. The networks
and matrices biobench builds are small, so one thread loses little where the machine is idle.
"""

from __future__ import annotations

import os
import sys

# Environment variables the thread pools of OpenMP (torch), MKL and OpenBLAS read when they load.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
THREADS_VARIABLE = "BIOBENCH_THREADS"  # what a user sets (or ``biobench --threads N``) to raise the cap


def threads_per_worker(workers: int) -> int:
    """This machine's cores shared among ``workers`` processes (at least one each)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores // workers)


def limit_threads_as_configured() -> int:
    """What the command line does for a script that runs methods in its own process (the benchmarks): one
    compute thread, or ``BIOBENCH_THREADS``. Returns the number."""
    threads = max(1, int(os.environ.get(THREADS_VARIABLE) or 1))
    limit_threads(threads)
    return threads


def limit_threads(threads: int) -> None:
    """Cap this process's compute threads: the pools already loaded (numpy's BLAS, torch's OpenMP) through
    threadpoolctl, and those loaded later through the environment they read (child processes inherit it).

    Every library sizes its pool to the whole machine, so two workers on two cores each run two
    threads that spin-wait on each other's core: on a 2-core machine, a bench of four ``surrogate``
    starts with two workers took 153 s with two threads per worker and 12 s with one.
    """
    from threadpoolctl import threadpool_limits

    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    threadpool_limits(limits=threads)
    torch = sys.modules.get("torch")  # its own intra-op pool, sized when torch loaded
    if torch is not None:
        torch.set_num_threads(threads)
