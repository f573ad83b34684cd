"""Block Kit rendering: pure functions from typed data to ``Message`` (text + blocks)."""

from .common import Message
from .failures import render_error, render_usage_error
from .help import render_help
from .image_details import render_image
from .limits import BlockKitLimitError, check_message
from .listings import render_repos, render_tags

__all__ = [
    "BlockKitLimitError",
    "Message",
    "check_message",
    "render_error",
    "render_help",
    "render_image",
    "render_repos",
    "render_tags",
    "render_usage_error",
]
