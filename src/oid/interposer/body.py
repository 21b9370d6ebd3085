"""Request bodies on their way upstream: streamed once, or held to be replayed.

A body sent to one location is streamed from the client to it, never held.
A body sent to several locations (``&``), or that a fallback (``|``) may have
to send again, is read to its end first and replayed from where it is held:
in memory up to ``MEMORY_BYTES``, beyond that in an unlinked temporary file
(a multi-GB image under ``{glance: Berlin&Denver}`` costs disk, not memory),
up to the interposer's ``max_replay_bytes``. Each replay reads the file with
its own offsets (``os.pread``), so concurrent branches do not share a cursor.

A client that stops sending (it aborted, its connection broke) is the
client's failure, not the upstream location's: ``ClientGone`` says so, and
nothing feeds a breaker with it.
"""

from __future__ import annotations

import asyncio
import os
import tempfile

from aiohttp import streams

CHUNK_BYTES = 256 * 1024
MEMORY_BYTES = 1024 * 1024


class ClientGone(Exception):
    """The client's body could not be read to its end."""


class TooLarge(Exception):
    """A body to replay larger than the limit."""

    def __init__(self, limit: int):
        super().__init__(f"a body sent to several locations is limited to {limit} bytes")
        self.limit = limit


class StreamedBody:
    """The client's body streamed to a single location as it arrives."""

    def __init__(self, content: streams.StreamReader):
        self.content = content
        self.client_failed = False

    def payload(self):
        return self._chunks()

    def content_length(self) -> int | None:
        return None  # unknown: the client's own framing is not relayed

    async def _chunks(self):
        try:
            async for chunk in self.content.iter_chunked(CHUNK_BYTES):
                yield chunk
        except Exception as exc:
            self.client_failed = True
            raise ClientGone(f"the client's body ended early: {type(exc).__name__}") from None

    def close(self) -> None:
        pass


class HeldBody:
    """The client's whole body, held to be sent any number of times."""

    def __init__(self, spool_directory: str | None):
        self.spool_directory = spool_directory
        self.memory: list[bytes] = []
        self.file = None
        self.size = 0
        self.client_failed = False

    @classmethod
    async def read(cls, content: streams.StreamReader, limit: int, spool_directory: str | None = None) -> HeldBody:
        body = cls(spool_directory)
        try:
            async for chunk in content.iter_chunked(CHUNK_BYTES):
                await body._add(chunk, limit)
        except TooLarge:
            body.close()
            raise
        except Exception as exc:
            body.close()
            raise ClientGone(f"the client's body ended early: {type(exc).__name__}") from None
        return body

    @classmethod
    def of(cls, data: bytes) -> HeldBody:
        """A body the interposer wrote itself (small: held in memory)."""
        body = cls(None)
        body.memory, body.size = [data], len(data)
        return body

    def in_memory(self) -> bool:
        return self.file is None

    async def _add(self, chunk: bytes, limit: int) -> None:
        self.size += len(chunk)
        if self.size > limit:
            raise TooLarge(limit)
        if self.file is None and self.size <= MEMORY_BYTES:
            self.memory.append(chunk)
            return
        loop = asyncio.get_running_loop()
        if self.file is None:
            self.file = await loop.run_in_executor(None, self._spool, b"".join(self.memory))
            self.memory = []
        await loop.run_in_executor(None, self.file.write, chunk)

    def _spool(self, start: bytes):
        spool = tempfile.TemporaryFile(dir=self.spool_directory, prefix="oid-body-")  # unlinked at once
        spool.write(start)
        return spool

    def content_length(self) -> int:
        return self.size

    def payload(self):
        """What one upstream request sends: the bytes, or a reader of the file of its own."""
        if self.file is None:
            return b"".join(self.memory)
        self.file.flush()
        return self._replay(self.file.fileno())

    async def _replay(self, fd: int):
        loop = asyncio.get_running_loop()
        offset = 0
        while offset < self.size:
            chunk = await loop.run_in_executor(None, os.pread, fd, min(CHUNK_BYTES, self.size - offset), offset)
            if not chunk:
                raise OSError(f"the held body ended at {offset} of {self.size} bytes")
            offset += len(chunk)
            yield chunk

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        self.memory = []
