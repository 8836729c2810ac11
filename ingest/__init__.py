"""The front door: posts from files, stdin or HTTP are validated here and produced to ``posts.raw``."""
