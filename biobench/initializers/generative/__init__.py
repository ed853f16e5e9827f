"""Generative initializers: conditional models of parameter vectors given the objective value.

``family`` holds what they share (training data, optuna search, saving, accounting,
diagnostics, training-loop pieces in ``loop``); each member module (``cvae``,
``cvae_transformer``, ``ccgan``) holds its network, its loss and its search space, and
registers itself when imported (``biobench.initializers`` registers them lazily).
"""

MEMBERS = {"cvae": "cvae", "cvae-transformer": "cvae_transformer", "ccgan": "ccgan"}  # name -> module
LABELS = {"cvae": "cVAE", "cvae-transformer": "Transformer cVAE", "ccgan": "CcGAN"}  # in figures
