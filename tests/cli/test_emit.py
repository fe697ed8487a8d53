"""emit.write: text given in pieces reaches the stream whole and in order, in few writes; a piece's own
error is not mistaken for the stream's, and a stream that fails stops the pieces being made."""

import io
import os

import pytest

from convcalc.cli import emit


def test_pieces_arrive_whole_in_order_and_batched(tmp_path, monkeypatch):
    path = tmp_path / "out.txt"
    stream = open(path, "w", encoding="utf-8")  # noqa: SIM115 -- closed below
    monkeypatch.setattr("sys.stdout", stream)  # in the test: pytest sets its own before each phase
    monkeypatch.setattr(emit, "BATCH", 100)
    writes = []
    real = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: writes.append(len(data)) or real(fd, data))
    pieces = [f"row {i}: {'é' * (i % 7)}\n" for i in range(1000)]
    assert emit.write(iter(pieces)) is None
    stream.close()
    assert path.read_text(encoding="utf-8") == "".join(pieces)
    assert 10 < len(writes) < len(pieces) // 5  # gathered, yet never the whole text at once


def test_a_pieces_own_error_is_raised_not_called_a_write_failure(monkeypatch):
    monkeypatch.setattr("sys.stdout", io.StringIO())

    def pieces():
        yield "first\n"
        raise ValueError("a row could not be made")

    with pytest.raises(ValueError, match="a row could not be made"):
        emit.write(pieces())


def test_a_stream_that_fails_stops_the_pieces(monkeypatch, capsys):
    class Full(io.StringIO):
        def write(self, text):
            raise OSError(28, "No space left on device")

    monkeypatch.setattr("sys.stdout", Full())
    made = []

    def pieces():
        for i in range(10):
            made.append(i)
            yield "x" * emit.BATCH

    assert emit.write(pieces()) == emit.CANNOT_WRITE
    assert made == [0]
    assert "No space left on device" in capsys.readouterr().err
