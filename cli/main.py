"""``rolegate``: the gateway's command line (installed by ``make install``).

    rolegate serve                     serve without gunicorn (IIS/Windows, eventlet): ``python app.py``
    rolegate doctor URL [--origin O]   does the profile in force fit the path to a deployed gateway?
    rolegate config [--profile NAME]   the effective settings, and where each came from
    rolegate token --sub ID [--name N] [--rooms GLOBS] [--ttl S]   an HS256 token for auth = jwt

Each subcommand imports what it needs only when it runs: ``serve`` must patch the standard
library for green threads before Flask and the libraries are imported.
"""

from __future__ import annotations

import argparse
import sys


def serve(args: argparse.Namespace) -> int:
    from config import load_profile_or_exit
    from serving.process import monkey_patch

    profile = load_profile_or_exit(args.profile)
    monkey_patch(profile.async_mode)

    from app import create_app_or_exit
    from serving.standalone import serve_forever

    serve_forever(create_app_or_exit(profile), profile)
    return 0


def doctor(args: argparse.Namespace) -> int:
    from cli.doctor import main as doctor_main

    return doctor_main(args.rest)


def config(args: argparse.Namespace) -> int:
    from cli.show_config import show

    return show(args.profile)


def token(args: argparse.Namespace) -> int:
    from cli.token import main as token_main

    return token_main(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rolegate", description="The rolegate chat gateway.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serving = commands.add_parser("serve", help="serve without gunicorn (IIS/Windows hosts, eventlet)")
    serving.add_argument("--profile", help="profile name (default: GATEWAY_PROFILE, else worker-role)")
    serving.set_defaults(run=serve)

    checking = commands.add_parser(
        "doctor", help="check that the profile in force fits the path to a gateway", add_help=False
    )
    checking.add_argument("rest", nargs=argparse.REMAINDER)
    checking.set_defaults(run=doctor)

    showing = commands.add_parser("config", help="the effective settings and where each came from")
    showing.add_argument("--profile", help="profile name (default: GATEWAY_PROFILE, else worker-role)")
    showing.set_defaults(run=config)

    minting = commands.add_parser("token", help="print an HS256 token signed with GATEWAY_AUTH_SECRET")
    minting.add_argument("--sub", required=True, help="the user's stable id (the `sub` claim)")
    minting.add_argument("--name", help="the name others see (the `name` claim; default: the sub)")
    minting.add_argument(
        "--rooms",
        action="append",
        help="glob patterns of the rooms the token allows, comma-separated or repeated "
        "(the `rooms` claim; default: any room)",
    )
    minting.add_argument("--ttl", type=int, default=3600, help="seconds the token is valid (default 3600)")
    minting.add_argument("--profile", help="profile name (default: GATEWAY_PROFILE, else worker-role)")
    minting.set_defaults(run=token)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
