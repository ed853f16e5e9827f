"""Amortized inference: a network that reads a problem's measurements and proposes its parameters.

``datasets`` simulates training datasets with the problem's own noise model and
measurement layout, ``network`` holds the inference network and the proxy of the
simulator it is trained through, ``initializer`` makes it ``--init amortized``.
"""
