"""The experiments of the part "Why it helps" (chapters 12 to 15), one module per question."""
