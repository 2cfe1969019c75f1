"""The reporting engine: periods, NPL ratios and the 3-point tolerance, growth and the bank scorecard.

Pure Python (no Django): ``Decimal`` arithmetic, plain dicts and dataclasses in and out.
"""
