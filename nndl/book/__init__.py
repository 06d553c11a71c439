"""Helpers of the book's chapters, one module per job, so that a chapter's code cells stay short
and the code behind them is tested:

- ``nndl.book.figures``: the computation graph, training curves and panels;
- ``nndl.book.tables``: a derivation's nodes as a table of formulas, and rounded numbers;
- ``nndl.book.execute``: re-executing the chapters in place (``nndl book execute``);
- ``nndl.book.kernel``: the kernels that run the chapters, on encrypted connections.

The experiments the chapters run (training runs, sweeps, layer statistics) are in
``nndl.experiments``.
"""
