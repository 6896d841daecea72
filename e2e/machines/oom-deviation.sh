#!/usr/bin/env bash
# The one change a machine that runs pods needs in its containerd config (e2e/cluster/README.md,
# "The one deviation"): this VM's capability bounding set lacks CAP_SYS_RESOURCE, so nobody may
# lower oom_score_adj, and the -998 that containerd's CRI gives every pod sandbox makes runc fail
# ("can't get final child's PID from pipe"). `restrict_oom_score_adj = true` clamps it to
# containerd's own. A commented line, in the CRI table the file already has; every other byte
# stays as shipped. Usage: oom-deviation.sh CONFIG_TOML
set -euo pipefail
config=${1:?usage: oom-deviation.sh CONFIG_TOML}
comment='# e2e machine: this VM lacks CAP_SYS_RESOURCE; without this, runc fails on the sandbox oom_score_adj'
grep -qE '^\s*restrict_oom_score_adj\s*=\s*true' "$config" && exit 0
tmp=$(mktemp "$config.XXXXXX")
# `config default` output has the key set to false: flip it. A shipped file without it (Debian)
# gets it under its CRI table: v2's grpc.v1.cri, or v3's cri.v1.runtime.
awk -v comment="$comment" '
  { lines[++n] = $0 }
  function add(i, indent) { print indent comment; print indent "restrict_oom_score_adj = true"; done = 1 }
  END {
    for (i = 1; i <= n; i++) if (lines[i] ~ /^[ \t]*restrict_oom_score_adj[ \t]*=[ \t]*false/) flip = i
    for (i = 1; i <= n; i++) {
      indent = lines[i]; sub(/[^ \t].*/, "", indent)
      if (i == flip) { add(i, indent); continue }
      print lines[i]
      if (!flip && !done && lines[i] ~ /^[ \t]*\[plugins\.["\x27]io\.containerd\.(grpc\.v1\.cri|cri\.v1\.runtime)["\x27]\][ \t]*$/)
        add(i, indent "  ")
    }
    if (!done) exit 3
  }' "$config" > "$tmp" || {
  rm -f "$tmp"
  echo "oom-deviation.sh: $config has no CRI table to put restrict_oom_score_adj in" >&2
  exit 1
}
chmod --reference="$config" "$tmp"
mv "$tmp" "$config"
