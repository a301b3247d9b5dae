"""Run the fake provider server in the foreground: ``python -m tests.fakes.provider_server``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from ._server import FakeProviderServer
from ._usage import PROVIDERS


def _key_arg(value: str) -> tuple[str, str]:
    provider, sep, key = value.partition("=")
    if not sep or provider not in PROVIDERS or not key:
        raise argparse.ArgumentTypeError(f"expected PROVIDER=KEY with PROVIDER in {PROVIDERS}")
    return provider, key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.provider_server",
        description="Fake Anthropic/OpenAI/Gemini/Mistral API server on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--key",
        action="append",
        default=[],
        type=_key_arg,
        metavar="PROVIDER=KEY",
        help="accept KEY for PROVIDER (repeatable; the built-in default keys stay valid)",
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between deltas")
    parser.add_argument("--reply-text", default=None, help='reply text; "{provider}" is filled in')
    args = parser.parse_args(argv)

    server = FakeProviderServer(host=args.host, port=args.port)
    for provider, key in args.key:
        server.add_key(provider, key)
    server.latency = args.latency
    server.chunk_delay = args.chunk_delay
    if args.reply_text is not None:
        server.reply_text = args.reply_text
    server.start()

    print(f"fake provider server listening on {server.base_url}", flush=True)
    for provider in PROVIDERS:
        keys = [server.default_key(provider), *(k for p, k in args.key if p == provider)]
        print(f"  {provider:<9} base_url={server.url(provider)}  keys={', '.join(keys)}")
    sys.stdout.flush()

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
