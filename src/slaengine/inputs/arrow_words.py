"""Text columns of Arrow record batches as codes into their distinct words.

A text column is read as dictionary codes: a Parquet file's dictionary column as
it comes (no string is hashed or copied per row), any other text encoded once
per batch. Whatever is made of a word (checked against a vocabulary, lowered,
shared, read as JSON) is made once per distinct word, in Python, and reaches
the rows through their codes: Arrow ``take`` for checks (:meth:`Words.flags`),
a list look-up per row for the events' values (:func:`picked`). A
:class:`WordCache` keeps each column's words from one batch to the next: the
batches of a Parquet row group share its dictionary, so a read converts each
row group's words once (and only the new ones when a dictionary grows as a
plain-encoded column is read).
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any


class _Vocabulary:
    """The distinct words of a text column (``None`` for a null or empty one: no cell), and
    what has been made of them, word by word."""

    __slots__ = ("dictionary", "made", "words")

    def __init__(self, dictionary: Any) -> None:
        self.dictionary = dictionary
        self.words: list[str | None] = [word or None for word in dictionary.to_pylist()]
        self.made: dict[str, tuple[Callable[[str], Any], list[Any]]] = {}

    def grown(self, dictionary: Any) -> bool:
        """Take ``dictionary`` when it is this one's words and more; whether it was."""
        size = len(self.dictionary)
        if len(dictionary) < size or not dictionary.slice(0, size).equals(self.dictionary):
            return False
        if len(dictionary) > size:
            more: list[str | None] = [w or None for w in dictionary.slice(size).to_pylist()]
            self.words += more
            for make, made in self.made.values():
                made += [None if word is None else make(word) for word in more]
        self.dictionary = dictionary
        return True

    def made_of(self, name: str, make: Callable[[str], Any]) -> list[Any]:
        """``make`` of each word (``None`` for no word), made once per word (``name`` names
        ``make``)."""
        found = self.made.get(name)
        if found is None:
            found = self.made[name] = (make, [None if w is None else make(w) for w in self.words])
        return found[1]


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
        return self.spread(self.vocabulary.made_of(name, test), absent)

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
    return Words(empty, pa.array([0] * rows, pa.int32()), pa.array([False] * rows))


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
    if None in vocabulary.words:  # empty words: no cell either
        present = vocabulary_flags(vocabulary, codes)
    return Words(vocabulary, codes, present)


def vocabulary_flags(vocabulary: _Vocabulary, codes: Any) -> Any:
    """True where a row's code is one of a word (not an empty one, not past the words)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    marks = [word is not None for word in vocabulary.words]
    marks.append(False)
    return pc.take(pa.array(marks, pa.bool_()), codes)


def picked(words: Words, name: str, make: Callable[[str], Any], where: Any, keep: Any) -> list[Any]:
    """``make`` of each row's word (``name`` names it), ``None`` where the row has none or
    is not ``where`` (``None``: every row); only the rows ``keep`` keeps (``None``: all).

    One value per distinct word, not one per row. A mostly empty column sets its few
    cells into a list of ``None``; the others pick every row's value with one C call.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    table = words.vocabulary.made_of(name, make)
    codes, mask = words.codes, words.present
    if where is not None:
        mask = pc.and_(mask, where)
    if keep is not None:
        codes, mask = pc.filter(codes, keep), pc.filter(mask, keep)
    rows = len(codes)
    count = pc.sum(mask).as_py() or 0
    if count * 2 < rows:
        cells: list[Any] = [None] * rows
        if count:
            at = pc.indices_nonzero(mask)
            found = map(table.__getitem__, pc.take(codes, at).to_pylist())
            for row, value in zip(at.to_pylist(), found, strict=True):
                cells[row] = value
        return cells
    if count < rows:
        codes = pc.if_else(mask, codes, pa.scalar(len(table), pa.int32()))
    table = [*table, None]
    if rows < 2:  # an itemgetter of one code gives no tuple
        return list(map(table.__getitem__, codes.to_pylist()))
    return list(itemgetter(*codes.to_pylist())(table))


def cells(
    values: Any,
    where: Any,
    keep: Any,
    default: Any = None,
    make: Callable[[Any], Any] | None = None,
) -> list[Any]:
    """The cells of an Arrow column as Python values (``make`` of each, if given) where
    ``where`` (``None``: every row), ``default`` elsewhere; only the rows ``keep`` keeps."""
    import pyarrow.compute as pc

    mask = pc.is_valid(values) if where is None else where
    if keep is not None:
        values, mask = pc.filter(values, keep), pc.filter(mask, keep)
    rows = len(values)
    count = pc.sum(mask).as_py() or 0
    if count == rows:
        found = values.to_pylist()
        return found if make is None else list(map(make, found))
    result = [default] * rows
    if count:
        at = pc.indices_nonzero(mask)
        found = pc.take(values, at).to_pylist()
        for row, value in zip(
            at.to_pylist(), found if make is None else map(make, found), strict=True
        ):
            result[row] = value
    return result


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


__all__ = ["WordCache", "Words", "cells", "coded", "is_text", "no_words", "picked", "plain_text"]
