"""A local SMTP sink for the `send` scenario: aiosmtpd in its own process, counting messages
and keeping the first few on disk for a correctness check."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
from pathlib import Path
from typing import Any


def _serve(port_out: Any, counter: Any, sample_dir: str, samples: int) -> None:
    from aiosmtpd.smtp import SMTP

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with counter.get_lock():
                counter.value += 1
                seen = counter.value
            if seen <= samples:
                Path(sample_dir, f"{seen}.eml").write_bytes(envelope.original_content)
            return "250 OK"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        handler = Handler()
        server = await loop.create_server(
            lambda: SMTP(handler, hostname="sink.bench"), "127.0.0.1", 0
        )
        port_out.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


class SinkProcess:
    def __init__(self, sample_dir: Path, samples: int = 3):
        ctx = mp.get_context("spawn")
        sample_dir.mkdir(parents=True, exist_ok=True)
        for old in sample_dir.glob("*.eml"):
            old.unlink()
        self.sample_dir = sample_dir
        self.counter = ctx.Value("q", 0)
        port_queue = ctx.Queue()
        self.process = ctx.Process(
            target=_serve, args=(port_queue, self.counter, str(sample_dir), samples), daemon=True
        )
        self.process.start()
        self.port = int(port_queue.get(timeout=30))

    @property
    def count(self) -> int:
        return int(self.counter.value)

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(timeout=10)
