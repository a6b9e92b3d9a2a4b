"""Demos of a hashnode consortium on loopback, run from a checkout: `make demo` (`python -m demo`) and
`make report-demo` (`python -m demo.report`). Not part of the installed package."""
