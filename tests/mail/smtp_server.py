#!/usr/bin/env python3
"""A real SMTP server for the tests (aiosmtpd): every mail it accepts is written to a spool
folder as one file (`<nanoseconds>-<id>.eml`, the envelope recipients in a first
`X-Test-Envelope-To:` line, then the message as received). Recipients whose local part starts
with `refuse` are refused with a permanent 550, as a real server refuses an unknown mailbox.

    smtp_server.py --spool DIR [--port N] [--port-file FILE]

Port 0 (the default) takes a free port; the port is written to FILE once the server listens.
Stops on SIGTERM or SIGINT.
"""
import argparse
import asyncio
import os
import signal
import time
import uuid

from aiosmtpd.smtp import SMTP


class Spool:
    def __init__(self, folder):
        self.folder = folder

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@")[0].lower().startswith("refuse"):
            return f"550 5.1.1 <{address}>: no such mailbox here (the test server refuses it)"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.time_ns()}-{uuid.uuid4().hex}"
        partial = os.path.join(self.folder, name + ".part")
        with open(partial, "wb") as spooled:
            spooled.write(f"X-Test-Envelope-To: {','.join(envelope.rcpt_tos)}\r\n".encode())
            spooled.write(envelope.original_content or envelope.content)
        # Whole files only: a reader never sees half a mail.
        os.rename(partial, os.path.join(self.folder, name + ".eml"))
        return f"250 2.0.0 OK: queued as {name}"


async def serve(arguments):
    os.makedirs(arguments.spool, exist_ok=True)
    handler = Spool(arguments.spool)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="test-smtp.localhost"), "127.0.0.1", arguments.port
    )
    port = server.sockets[0].getsockname()[1]
    if arguments.port_file:
        with open(arguments.port_file + ".part", "w") as written:
            written.write(f"{port}\n")
        os.rename(arguments.port_file + ".part", arguments.port_file)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spool", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
