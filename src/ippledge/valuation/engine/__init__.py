"""The valuation engine: pure Python + NumPy, no Django.

Every method returns amounts as ``Decimal`` quantized to the fen and an explanation ``Trace``
(inputs, formula steps, intermediate values) readable in Chinese and English.
"""

MODEL_VERSION = "ippledge-valuation/1.0"
