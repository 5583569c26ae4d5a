"""Exceptions raised by numlite."""

from __future__ import annotations


class ModelError(ValueError):
    """A model file is truncated, corrupt, hostile or otherwise unusable.

    The message says what is wrong and where (the schema path of the field and its byte
    offset when the problem is in the FlatBuffer itself).
    """


class UnsupportedOpError(ModelError):
    """The model uses operators (or operator versions) that numlite has no kernel for.

    ``missing`` lists ``(op_name, version, [node indices])`` for every such operator.
    """

    def __init__(self, message: str, missing: list[tuple[str, int, list[int]]]):
        super().__init__(message)
        self.missing = missing
