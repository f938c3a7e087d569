"""Text columns of Arrow record batches as codes into their distinct words.

A text column is read as dictionary codes: a Parquet file's dictionary column as
it comes (no string is hashed or copied per row), any other text encoded once
per batch. Whatever is made of a word (checked against a vocabulary, lowered,
shared, read as JSON) is made once per distinct word, in Python, and reaches
the rows through their codes: Arrow ``take`` for checks (:meth:`Words.flags`),
and for the events' values the codes as bytes (:func:`code_bytes`), each row's
looked up where its event needs it (:mod:`slaengine.inputs.event_columns`). A
:class:`WordCache` keeps each column's words from one batch to the next: the
batches of a Parquet row group share its dictionary, so a read converts each
row group's words once (and only the new ones when a dictionary grows as a
plain-encoded column is read). With numpy (the ``fast`` extra) the codes and
numbers come out of Arrow through numpy, else through Python lists: the same
values either way.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

#: Whether numpy takes codes and numbers out of Arrow when installed (:func:`use_numpy`).
_NUMPY: list[bool] = [True]


def use_numpy(enabled: bool) -> bool:
    """Take values out of Arrow with numpy (when installed) or without; returns the previous
    setting.

    For tests and measurements: both give the same values.
    """
    previous = _NUMPY[0]
    _NUMPY[0] = enabled
    return previous


def _numpy() -> Any:
    # numpy when it is installed and picks values; else None.
    if not _NUMPY[0]:
        return None
    try:
        import numpy
    except ImportError:  # pragma: no cover - numpy is optional (the ``fast`` extra)
        return None
    return numpy


class _Vocabulary:
    """The distinct words of a text column (``None`` for a null or empty one: no cell), and
    what has been made of them, word by word."""

    __slots__ = ("dictionary", "gaps", "made", "tables", "words")

    def __init__(self, dictionary: Any) -> None:
        self.dictionary = dictionary
        self.words: list[str | None] = _words(dictionary.to_pylist())
        self.gaps = None in self.words
        self.made: dict[str, tuple[Callable[[str], Any], list[Any]]] = {}
        self.tables: dict[tuple[str, Any], list[Any]] = {}

    def grown(self, dictionary: Any) -> bool:
        """Take ``dictionary`` when it is this one's words and more; whether it was."""
        size = len(self.dictionary)
        if len(dictionary) < size or not dictionary.slice(0, size).equals(self.dictionary):
            return False
        if len(dictionary) > size:
            more = _words(dictionary.slice(size).to_pylist())
            self.words += more
            self.gaps = self.gaps or None in more
            for make, made in self.made.values():
                made.extend(_made(make, more))
            self.tables.clear()
        self.dictionary = dictionary
        return True

    def made_of(self, name: str, make: Callable[[str], Any]) -> list[Any]:
        """``make`` of each word (``None`` for no word), made once per word (``name`` names
        ``make``)."""
        found = self.made.get(name)
        if found is None:
            found = self.made[name] = (make, _made(make, self.words))
        return found[1]

    def table(self, name: str, make: Callable[[str], Any], absent: Any) -> list[Any]:
        """:meth:`made_of`, ``absent`` for no word, and ``absent`` once more: the value of
        each code, the code after the words included."""
        found = self.tables.get((name, absent))
        if found is None:
            made = self.made_of(name, make)
            found = [absent if m is None else m for m in made] if absent is not None else [*made]
            found.append(absent)
            self.tables[name, absent] = found
        return found


def _words(texts: list[Any]) -> list[str | None]:
    # A dictionary's words, None for a null or empty one (most dictionaries have neither).
    if None in texts or "" in texts:
        return [text or None for text in texts]
    return texts


def _made(make: Callable[[str], Any], words: list[str | None]) -> list[Any]:
    # ``make`` of each word, None for no word; words as they are for ``str`` (they are text).
    if make is str:
        return [*words]
    return [None if word is None else make(word) for word in words]


class WordCache:
    """The words of each text column met so far in a read (see the module's docstring)."""

    __slots__ = ("_vocabularies",)

    def __init__(self) -> None:
        self._vocabularies: dict[str, _Vocabulary] = {}

    def vocabulary(self, key: str, dictionary: Any) -> _Vocabulary:
        """The words of column ``key``'s ``dictionary``: the last batch's when they are the
        same (or it grew), else read now."""
        known = self._vocabularies.get(key)
        if known is None or not known.grown(dictionary):
            known = self._vocabularies[key] = _Vocabulary(dictionary)
        return known


class Words:
    """A text column of one batch: each row's code into its vocabulary's words (the code
    after the last word where the row has no cell), and where it has a word."""

    __slots__ = ("codes", "present", "vocabulary")

    def __init__(self, vocabulary: _Vocabulary, codes: Any, present: Any) -> None:
        self.vocabulary = vocabulary
        self.codes = codes
        self.present = present

    def flags(self, name: str, test: Callable[[str], bool], absent: bool) -> Any:
        """``test`` of each row's word (``name`` names it), ``absent`` where there is none."""
        import pyarrow as pa
        import pyarrow.compute as pc

        marks = pa.array(self.vocabulary.table(name, test, absent), pa.bool_())
        return pc.take(marks, self.codes)

    def spread(self, marks: list[bool | None], absent: bool) -> Any:
        """Each row's word's mark (``marks``: one per word, ``None`` for no word), ``absent``
        where the row has no word."""
        import pyarrow as pa
        import pyarrow.compute as pc

        found = [absent if mark is None else mark for mark in marks]
        found.append(absent)
        return pc.take(pa.array(found, pa.bool_()), self.codes)

    def absent(self) -> Any:
        """True where the row has no word."""
        import pyarrow.compute as pc

        return pc.invert(self.present)


def no_words(rows: int) -> Words:
    """A column that is not there: no row has a word."""
    import pyarrow as pa

    empty = _Vocabulary(pa.array([], pa.string()))
    return Words(empty, pa.repeat(pa.scalar(0, pa.int32()), rows), pa.repeat(False, rows))


def coded(key: str, column: Any, cache: WordCache) -> Words | None:
    """Column ``key`` of a batch as :class:`Words`; ``None`` when it is not text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_dictionary(kind):
        if not is_text(kind.value_type):
            return None
        dictionary, codes = column.dictionary, column.indices
    else:
        text = plain_text(column)
        if text is None:
            return None
        encoded = pc.dictionary_encode(text)
        dictionary, codes = encoded.dictionary, encoded.indices
    if not pa.types.is_string(dictionary.type):
        dictionary = dictionary.cast(pa.string())
    vocabulary = cache.vocabulary(key, dictionary)
    size = len(vocabulary.words)
    if codes.type != pa.int32():
        codes = codes.cast(pa.int32())
    present = pc.is_valid(codes)
    if codes.null_count:
        codes = pc.fill_null(codes, size)
    if vocabulary.gaps:  # empty words: no cell either
        present = pc.take(pa.array(vocabulary.table("present", _word, False), pa.bool_()), codes)
    return Words(vocabulary, codes, present)


def _word(word: str) -> bool:
    return True


def code_bytes(codes: Any) -> bytes:
    """An Arrow array of codes (32-bit integers, no nulls) as little-endian bytes, four a
    row (:class:`~slaengine.inputs.event_columns.Coded`)."""
    numpy = _numpy()
    if numpy is not None:
        return codes.to_numpy(zero_copy_only=False).astype("<i4", copy=False).tobytes()  # type: ignore[no-any-return]
    values = codes.to_pylist()
    return struct.pack(f"<{len(values)}i", *values)


def row_flags(mask: Any) -> bytes:
    """A boolean Arrow array without nulls as bytes, one a row: 1 where true, else 0."""
    numpy = _numpy()
    if numpy is not None:
        return mask.to_numpy(zero_copy_only=False).astype(numpy.uint8).tobytes()  # type: ignore[no-any-return]
    return bytes(mask.to_pylist())


def dense_values(values: Any, fill: Any) -> list[Any]:
    """The cells of an Arrow column of numbers or booleans as Python values, ``fill``
    where a cell is empty (for rows whose value is not read: a list without holes
    comes faster out of numpy)."""
    if values.null_count:
        import pyarrow.compute as pc

        values = pc.fill_null(values, fill)
    return row_values(values)


def true_rows(mask: Any) -> list[int]:
    """The rows where a boolean Arrow array without nulls is true, in order."""
    numpy = _numpy()
    if numpy is not None:  # about half of Arrow's time for the list
        return numpy.flatnonzero(mask.to_numpy(zero_copy_only=False)).tolist()  # type: ignore[no-any-return]
    import pyarrow.compute as pc

    return pc.indices_nonzero(mask).to_pylist()  # type: ignore[no-any-return]


def row_values(values: Any) -> list[Any]:
    """The cells of an Arrow column as Python values, as ``to_pylist`` gives them (by numpy,
    faster, for numbers without nulls)."""
    import pyarrow as pa

    kind = values.type
    numpy = _numpy()
    if (
        numpy is not None
        and not values.null_count
        and (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind))
    ):
        return values.to_numpy(zero_copy_only=False).tolist()  # type: ignore[no-any-return]
    return values.to_pylist()  # type: ignore[no-any-return]


def plain_text(column: Any) -> Any:
    """A text column as plain ``string``: large strings, string views and dictionaries of
    text (pandas' categoricals) cast to it; ``None`` for a column of another type."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_dictionary(kind):
        return column.cast(pa.string()) if is_text(kind.value_type) else None
    if pa.types.is_string(kind):
        return column
    return column.cast(pa.string()) if is_text(kind) else None


def is_text(kind: Any) -> bool:
    """Whether an Arrow type is text (plain, large or a view)."""
    import pyarrow as pa

    views = getattr(pa.types, "is_string_view", None)  # pyarrow 16 and later
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or (views is not None and views(kind))
    )


__all__ = [
    "WordCache",
    "Words",
    "code_bytes",
    "coded",
    "dense_values",
    "is_text",
    "no_words",
    "plain_text",
    "row_flags",
    "row_values",
    "true_rows",
    "use_numpy",
]
