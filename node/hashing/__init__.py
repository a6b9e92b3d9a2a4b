"""Hashing media files on the platform's own machine (no content leaves it): PDQ with quality (images), vPDQ
frame features (videos), MD5, SHA-256.

Image hashing needs the `hashing` extra (pdqhash, pillow), video hashing the `video` extra (vpdq); without them,
asking to hash an image or a video is a clear error.
May import: `node.core`.
"""
