"""Running methods on problems: a start's identity and record, the multistart runner, the store every start is
written to, executors (serial, processes, Dask) and benches (configs of models x methods x seeds)."""
