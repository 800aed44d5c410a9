"""The RFC 5246 §4 presentation language on the wire: integers and length-prefixed vectors.

Every decoder in the reference reads through ``Reader`` so that strictness lives in one place:
a vector ``T name<floor..ceiling>`` whose length prefix runs past the end of its container, or
lies outside ``floor..ceiling``, or is not a multiple of the element size, is a ``decode_error``
(RFC 5246 §7.2.2: "a message could not be decoded because some field was out of the specified
range or the length of the message was incorrect"), and so are bytes left over at the end.
"""

from __future__ import annotations

from collections.abc import Iterable

from tlsmodel.reference.alerts import decode_error


class Reader:
    """A cursor over one message (or one sub-structure) that refuses to read past its end."""

    __slots__ = ("_data", "_pos", "_what")

    def __init__(self, data: bytes, what: str) -> None:
        self._data = data
        self._pos = 0
        self._what = what

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def bytes(self, n: int) -> bytes:
        """The next ``n`` bytes exactly."""
        if n > self.remaining:
            raise decode_error(f"{self._what}: truncated (need {n}, have {self.remaining})")
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def uint(self, width: int) -> int:
        """A big-endian unsigned integer of ``width`` bytes (uint8/16/24/32/64)."""
        return int.from_bytes(self.bytes(width), "big")

    def vector(self, width: int, floor: int = 0, ceiling: int | None = None) -> bytes:
        """``opaque v<floor..ceiling>`` with a ``width``-byte length prefix."""
        length = self.uint(width)
        if length < floor or (ceiling is not None and length > ceiling):
            raise decode_error(f"{self._what}: vector length {length} outside {floor}..{ceiling}")
        return self.bytes(length)

    def sub(self, width: int, what: str, floor: int = 0, ceiling: int | None = None) -> Reader:
        """A Reader over a length-prefixed vector, for vectors of structures."""
        return Reader(self.vector(width, floor, ceiling), what)

    def uint_list(self, width: int, item: int, floor: int, ceiling: int) -> tuple[int, ...]:
        """A vector of fixed-size integers, e.g. ``CipherSuite cipher_suites<2..2^16-2>``."""
        raw = self.vector(width, floor, ceiling)
        if len(raw) % item:
            raise decode_error(f"{self._what}: vector length {len(raw)} not a multiple of {item}")
        return tuple(int.from_bytes(raw[i : i + item], "big") for i in range(0, len(raw), item))

    def end(self) -> None:
        """Assert that the structure is fully consumed (no trailing bytes)."""
        if self.remaining:
            raise decode_error(f"{self._what}: {self.remaining} trailing bytes")


def uint(value: int, width: int) -> bytes:
    """Encode an unsigned integer; ValueError if it does not fit (a caller bug, not peer input)."""
    return value.to_bytes(width, "big")


def vector(data: bytes, width: int) -> bytes:
    """Encode ``opaque v<..>`` with a ``width``-byte length prefix.

    No floor/ceiling check on purpose: the engine must be able to *send* out-of-range vectors
    when a caller crafts deviant messages; only ``to_bytes`` overflow is refused.
    """
    return uint(len(data), width) + data


def uint_vector(values: Iterable[int], width: int, item: int) -> bytes:
    """Encode a vector of ``item``-byte integers with a ``width``-byte length prefix."""
    return vector(b"".join(uint(v, item) for v in values), width)
