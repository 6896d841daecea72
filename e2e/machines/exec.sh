#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Runs a command inside a running machine: all its namespaces (mount, PID, network, cgroup...),
# the environment of a root shell there. Exits with the command's status.
# Usage: exec.sh NAME CMD [ARG]...
source "$(dirname "$0")/lib.sh"
name=${1:?usage: exec.sh NAME CMD [ARG]...}; shift
[ $# -gt 0 ] || die "usage: exec.sh NAME CMD [ARG]..."
in_machine "$name" "$@"
