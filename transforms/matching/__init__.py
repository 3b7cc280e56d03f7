"""Pure building blocks of identity resolution (pandas DataFrame -> DataFrame).

* :mod:`.inputs`        the matching view of standardised person records (derived keys)
* :mod:`.deterministic` links on unique identifiers, with guard rails
* :mod:`.splink_model`  Splink comparisons, blocking rules and training rules
* :mod:`.clusters`      constrained clustering of links (decisions, caps, identifier conflicts)
* :mod:`.customer_keys` stable customer keys across runs, and their lineage
* :mod:`.metrics`       pairwise and B-cubed evaluation against a truth table
* :mod:`.engine`        :func:`~transforms.matching.engine.resolve`: all of the above in one run

Nothing here reads or writes: I/O lives in :mod:`pipelines.identity`.
"""
