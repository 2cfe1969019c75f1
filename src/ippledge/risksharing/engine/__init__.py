"""Pure risk-sharing numerics: allocation of a loss under a scheme, portfolio loss simulation, Basel formulas.

No Django imports (import-linter enforces it).
"""
