"""Neural surrogates of the simulator: train one per problem, judge it on held-out simulations, use it to search.

``network`` holds the torch model and its training, ``build`` the design, reuse and
saving, ``quality`` the accuracy and speed report, ``command`` the ``biobench surrogate``
command; ``biobench.optimizers.surrogate_search`` is the optimizer that uses one.
"""
