"""The experiments of the part "Why it helps" (chapters 12-15): what batch norm does to a
network's training, measured as the papers measured it.

- ``nndl.why.shift``: internal covariate shift as Ioffe & Szegedy (2015) and Santurkar et al.
  (2018) measured it, and Santurkar's noisy batch norm (chapters 12 and 13).
- ``nndl.why.landscape``: the loss landscape and learning rates (chapter 14).
- ``nndl.why.regularization``: the regularization question (chapter 15).
- ``nndl.why.common``: what chapters 14 and 15 share (unit-variance data, He networks).
"""
