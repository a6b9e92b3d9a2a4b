"""`hashnode probe [--target HOST:PORT] [--ca CERT] [--service NAME]`: is the node serving? For health probes.

Calls the standard gRPC health service (`grpc.health.v1.Health/Check`), which every listener serves to anyone,
and exits 0 when the node answers SERVING, 1 otherwise (NOT_SERVING while it starts, catches up or drains; or
no answer within `--timeout`). One line on stdout says which. It is what the container image's HEALTHCHECK and
the Kubernetes example's probes run: Kubernetes' own gRPC probe speaks no TLS, and `grpc_health_probe` is not
packaged by Debian.
"""

from __future__ import annotations

import argparse

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from node.cli.command_base import add_target_options, channel
from node.cli.exit_codes import ExitCode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_options(parser, admin=True)
    parser.set_defaults(timeout=5.0)
    parser.add_argument(
        "--service",
        default="",
        metavar="NAME",
        help='the service to ask about, e.g. hashnode.v1.HashNode (default "": the node as a whole)',
    )


def run(args: argparse.Namespace) -> int:
    with channel(args) as opened:
        try:
            reply = health_pb2_grpc.HealthStub(opened).Check(
                health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout
            )
        except grpc.RpcError as exc:
            print(f"{args.target}: no answer ({exc.code().name}: {exc.details()})")
            return ExitCode.FAILURE
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(f"{args.target}: {status}")
    return ExitCode.OK if reply.status == health_pb2.HealthCheckResponse.SERVING else ExitCode.FAILURE
