"""The ``registry-bot`` console script (also ``python -m bot``)."""

from __future__ import annotations

import logging
import sys

from .config import ConfigError, load_settings
from .registry import RegistryClient, RegistryError


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = load_settings()
    except ConfigError as exc:
        print("registry-bot: cannot start, the settings need fixing:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        print("See .env.example for every setting.", file=sys.stderr)
        return 2
    with RegistryClient(settings.registry) as client:
        try:
            client.ping()
            print(f"registry-bot: the registry at {client.display_url} answers.")
        except RegistryError as exc:
            print(f"registry-bot: {exc}", file=sys.stderr)
    print("registry-bot: Slack front end not built yet.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
