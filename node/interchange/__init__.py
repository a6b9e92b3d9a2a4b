"""Files of contributions: the CSV, JSONL and python-threatexchange formats `hashnode import`/`export` read
and write. Pure parsing and rendering; may import `node.core`.
"""
