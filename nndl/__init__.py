"""nndl: batch normalization, derived and explained.

CS231n-compatible layers (``nndl.layers``), networks (``nndl.fc_net``), update rules
(``nndl.optim``), a ``Solver`` (``nndl.solver``), gradient checks (``nndl.gradient_check``) and
data (``nndl.data``). The backward formulas are derived with sympy in the sibling package
``derivations``.
"""

__version__ = "0.1.0"
