import { ConfigError } from '../../containerd/config-error.ts';
import { UsageError, type CliIo } from './io.ts';
import { configCommand } from './config-command.ts';
import { nodeCommand } from './node-command.ts';

const USAGE = `usage: wasm-node-installer <command> [options]
commands:
  install             put runtimes on this node: shims, containerd config, restart, verify
  uninstall           take them off again
  status              report what is installed and registered
  config add|remove   preview the containerd config change for a file (no host access)
  --version           print the version`;

// scripts/bundle.ts writes the release version in; run from source it is the checkout's.
const VERSION = process.env.WASM_NODE_VERSION ?? 'development';

/** Runs one invocation and returns its exit code; every failure is one line on stderr. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case '--version':
        io.stdout(`${VERSION}\n`);
        return 0;
      case 'config':
        await configCommand(args, io);
        return 0;
      case 'install':
      case 'uninstall':
      case 'status':
        return await nodeCommand(command, args, io);
      default:
        throw new UsageError(USAGE);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`${err.message}\n`);
      return 2;
    }
    io.stderr(`error: ${describe(err)}\n`);
    return 1;
  }
}

function describe(err: unknown): string {
  if (err instanceof ConfigError) return `${err.message} [${err.code}]`;
  // Not `instanceof Error`: errors from Node's own modules may come from another realm.
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(err);
}
