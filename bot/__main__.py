"""The ``registry-bot`` console script (also ``python -m bot``): validate the settings,
check the Slack token, then serve over HTTP or Socket Mode."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

from .config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from .deletions import DatabaseUnavailable

EXIT_CONFIG = 2


def configure_logging(settings: Settings) -> None:
    """The log's level and format, the same in every process of the bot."""
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if settings.log_level != "DEBUG":
        # httpx logs every request line at INFO; our own logs say what matters.
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)


def database_problem(exc: DatabaseUnavailable) -> str:
    """Why the database stops the start, and what to do, naming the setting."""
    if exc.read_only:
        return (
            f"The database at DATABASE_URL ({exc.shown}) is read-only ({exc.reason}). The "
            "bot must be able to write to it: check the file's or the role's permissions."
        )
    return (
        f"Cannot open the database at DATABASE_URL ({exc.shown}): {exc.reason}. Check that "
        "it is running and reachable, and the URL's user, host and database name."
    )


def main(argv: list[str] | None = None) -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print("registry-bot: cannot start, the settings need fixing:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        print("Every setting is described in .env.example.", file=sys.stderr)
        if exc.config_file:
            print(
                "The configuration file's keys are in the README (Teams and several "
                "registries), with a complete example in docs/examples/registry-bot.toml.",
                file=sys.stderr,
            )
        return EXIT_CONFIG
    configure_logging(settings)
    for warning in settings.warnings:
        logging.getLogger("bot").warning("%s", warning)
    from .database import registry_database_urls
    from .deletions import DatabaseUnavailable, check_database
    from .slack.server import SlackUnavailable, check_slack, serve_http, serve_socket_mode

    assert settings.slack is not None
    try:
        check_slack(settings.slack)
        names = [entry.name for entry in settings.served]
        for url in registry_database_urls(settings.deletions.database_url, names):
            check_database(url)
    except SlackUnavailable as exc:
        print(f"registry-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except DatabaseUnavailable as exc:
        print(f"registry-bot: {database_problem(exc)}", file=sys.stderr)
        return EXIT_CONFIG
    if settings.slack.socket_mode:
        serve_socket_mode(settings)
    else:
        serve_http(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
