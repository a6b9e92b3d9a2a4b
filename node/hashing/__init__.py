"""Hashing media files on the platform's own machine (no content leaves it): PDQ with quality, MD5, SHA-256.

Image hashing needs the `hashing` extra (pdqhash, pillow); without it, asking to hash an image is a clear error.
May import: `node.core`.
"""
