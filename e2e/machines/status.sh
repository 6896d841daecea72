#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Exits 0 and prints the leader PID when the machine runs, 1 when it does not. Boots nothing.
# Usage: status.sh NAME
source "$(dirname "$0")/lib.sh"
name=${1:?usage: status.sh NAME}
load_machine "$name"
supervisor_pid "$name" >/dev/null && leader_pid "$name"
