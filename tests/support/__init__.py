"""Test support: a real registry process, a token server, image builders, proxies."""
