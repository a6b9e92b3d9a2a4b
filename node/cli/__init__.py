"""The `hashnode` command: one module per command (`*_cmd.py`), loaded only when that command runs
(`main.COMMANDS`). The top layer: may import any layer.
"""
