"""Fast construction of the string columns of result tables.

``pd.array(list_of_str, dtype="string")`` validates element by element in Python; pyarrow
converts a list (or object array) of ``str``/``None`` in C.  The helpers build exactly
the arrays pandas itself would: ``string`` (missing = ``pd.NA``) for columns the engine
types explicitly, and ``str`` (missing = NaN) for the columns pandas would infer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "inferred_str_array",
    "inferred_str_array_of_codes",
    "null_string_array",
    "string_array",
    "string_array_of_codes",
]

_ARROW = pd.StringDtype().storage == "pyarrow"


def _arrow(values, na_value) -> pd.api.extensions.ExtensionArray:
    import pyarrow as pa

    data = pa.array(values, type=pa.large_string(), from_pandas=True)
    return pd.arrays.ArrowStringArray(data, dtype=pd.StringDtype("pyarrow", na_value=na_value))


def string_array(values: Sequence | np.ndarray) -> pd.api.extensions.ExtensionArray:
    """A ``string`` array (missing values are ``pd.NA``) of *values* (``str`` or None)."""
    if _ARROW:
        return _arrow(values, pd.NA)
    return pd.array(list(values), dtype="string")


def inferred_str_array(values: Sequence | np.ndarray) -> pd.api.extensions.ExtensionArray:
    """The array pandas infers for a list of ``str`` (missing values are NaN)."""
    if _ARROW:
        return _arrow(values, np.nan)
    return pd.Series(list(values)).array


def string_array_of_codes(
    categories: Sequence | np.ndarray, codes: np.ndarray
) -> pd.api.extensions.ExtensionArray:
    """:func:`string_array` of ``categories[codes]`` (``str`` or None categories; a
    negative code counts from the end, as numpy indexing does), taken in C from the few
    categories instead of converting every value."""
    if _ARROW:
        import pyarrow as pa

        codes = np.where(codes < 0, codes + len(categories), codes)
        data = pa.array(list(categories), type=pa.large_string()).take(pa.array(codes))
        return pd.arrays.ArrowStringArray(data, dtype=pd.StringDtype("pyarrow", na_value=pd.NA))
    return string_array(np.asarray(categories, dtype=object)[codes])


def inferred_str_array_of_codes(
    categories: np.ndarray, codes: np.ndarray
) -> pd.api.extensions.ExtensionArray:
    """:func:`inferred_str_array` of ``categories[codes]`` (``str`` categories), taken in C
    from the few categories instead of converting every value."""
    if _ARROW:
        import pyarrow as pa

        data = pa.array(list(categories), type=pa.large_string()).take(pa.array(codes))
        return pd.arrays.ArrowStringArray(data, dtype=pd.StringDtype("pyarrow", na_value=np.nan))
    return inferred_str_array(np.asarray(categories, dtype=object)[codes])


def null_string_array(n: int) -> pd.api.extensions.ExtensionArray:
    """A ``string`` array of *n* missing values."""
    return string_array([None] * n)
