"""``rolegate token``: print an HS256 token signed with ``GATEWAY_AUTH_SECRET``, for tests and development.

    rolegate token --sub alice --name Alice --rooms 'team-*' --ttl 3600

Your application's backend mints the same token with its own JWT library (README "Signing in").
"""

from __future__ import annotations

import argparse
import sys

from auth import mint
from config import load_profile_or_exit


def rooms_of(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [room.strip() for value in values for room in value.split(",") if room.strip()]


def main(args: argparse.Namespace) -> int:
    profile = load_profile_or_exit(args.profile)
    if not profile.auth_secret:
        print("rolegate token: set GATEWAY_AUTH_SECRET, the HS256 secret the gateway checks", file=sys.stderr)
        return 2
    if args.ttl <= 0:
        print("rolegate token: --ttl must be a positive number of seconds", file=sys.stderr)
        return 2
    print(
        mint(
            profile.auth_secret,
            args.sub,
            name=args.name,
            rooms=rooms_of(args.rooms),
            ttl=args.ttl,
            audience=profile.auth_audience,
            issuer=profile.auth_issuer,
        )
    )
    return 0
