"""What the tests and the benchmarks share (not installed with the bot): real registry
processes, a token server, a Slack stand-in, signed Slack requests, the real bot
process, proxies and scripted hostile servers, and image builders."""
