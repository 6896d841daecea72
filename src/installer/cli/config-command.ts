import { parseArgs, type ParseArgsConfig } from 'node:util';
import { resolveRuntimes } from '../../catalog/runtimes.ts';
import { ConfigError } from '../../containerd/config-error.ts';
import { addRuntimes, removeRuntimes } from '../../containerd/patch-config.ts';
import { UsageError, type CliIo } from './io.ts';

export const DEFAULT_BIN_DIR = '/opt/wasm-node/bin';

const CONFIG_USAGE = `usage:
  wasm-node-installer config add --runtimes NAME[,NAME...] [--bin-dir DIR | --no-runtime-path] [--systemd-cgroup true|false] FILE
  wasm-node-installer config remove FILE
Prints the changed containerd config on stdout; FILE is never modified.`;

/** parseArgs with its complaints turned into usage errors (exit 2). */
function parseCommandArgs<T extends ParseArgsConfig>(config: T) {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new UsageError(`${(err as Error).message}; run "wasm-node-installer config" for usage`);
  }
}

function parseBool(flag: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new UsageError(`--${flag} takes true or false, not "${value}"`);
}

function withFileName<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(err.code, `${file}: ${err.message}`);
    throw err;
  }
}

/** `config add|remove`: the host-independent preview of what `install` would write. */
export async function configCommand(args: string[], io: CliIo): Promise<void> {
  const [action, ...rest] = args;
  if (action !== 'add' && action !== 'remove') throw new UsageError(CONFIG_USAGE);
  const { values, positionals } = parseCommandArgs({
    args: rest,
    allowPositionals: true,
    options: {
      runtimes: { type: 'string' },
      'bin-dir': { type: 'string' },
      'no-runtime-path': { type: 'boolean' },
      'systemd-cgroup': { type: 'string' },
    },
  });
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) throw new UsageError(CONFIG_USAGE);
  if (action === 'remove') {
    if (values.runtimes !== undefined)
      throw new UsageError('config remove takes no --runtimes: it removes our whole block');
    const text = await io.readFile(file);
    io.stdout(withFileName(file, () => removeRuntimes(text)).text);
    return;
  }
  if (values.runtimes === undefined || values.runtimes.trim() === '') {
    throw new UsageError('config add needs --runtimes, e.g. --runtimes wasmtime,spin');
  }
  if (values['bin-dir'] !== undefined && values['no-runtime-path']) {
    throw new UsageError('--bin-dir and --no-runtime-path exclude each other');
  }
  const binDir = values['no-runtime-path'] ? undefined : (values['bin-dir'] ?? DEFAULT_BIN_DIR);
  if (binDir !== undefined && !binDir.startsWith('/')) {
    throw new UsageError(`--bin-dir must be an absolute path, not "${binDir}"`);
  }
  const runtimes = resolveRuntimes(values.runtimes.split(',').map((n) => n.trim()));
  const text = await io.readFile(file);
  const result = withFileName(file, () =>
    addRuntimes(text, {
      runtimes: runtimes.map((runtime) => ({
        runtime,
        binaryPath:
          binDir === undefined ? undefined : `${binDir.replace(/\/+$/, '')}/${runtime.binary}`,
      })),
      systemdCgroup: parseBool('systemd-cgroup', values['systemd-cgroup']),
    }),
  );
  for (const warning of result.warnings) io.stderr(`warning: ${warning}\n`);
  for (const a of result.adopted)
    io.stderr(`note: runtime "${a.name}" already exists in the file; kept as it is\n`);
  io.stdout(result.text);
}
