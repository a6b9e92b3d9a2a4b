"""A running node without its servers: configuration (`config`), log formats (`log_format`), and its parts
opened from the configuration and wired together (`runtime`). May import `node.network` and below.
"""
