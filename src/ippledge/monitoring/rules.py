"""Pure monitoring rules: which alert a right, pledge or loan calls for on a business date.

No Django imports (import-linter enforces it).
"""

from __future__ import annotations
