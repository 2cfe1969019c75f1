"""The credit engine: repayment schedules, days past due and five-category classification.

Pure Python (no Django): ``Decimal`` money rounded to the fen (half up), plain dataclasses in and out.
"""
