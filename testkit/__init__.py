"""The test harness, run from a checkout and not part of the installed package.

What the reliability tests and the bench harnesses share: consortia of real `hashnode serve` processes on
loopback, a TCP proxy to cut and slow the links between them, and the checks run after every fault.

Loopback only, with the published example keys (keys/example): nothing here is for production use.
"""
