import { runCommand } from './run-command.ts';
import { repoPath } from './repo.ts';

/** Image name inside the archive from wasmHelloArchive(). */
export const WASM_HELLO_IMAGE = 'localhost/wasm-hello:v1';
/** The line e2e/wasm/hello.wat prints. */
export const WASM_HELLO_GREETING = 'Hello from WebAssembly on wasm-node-operator!';
/** Cold shim build: ~5 min on 2 idle cores, much longer next to other builds; cached: instant. */
export const WASM_FIXTURE_TIMEOUT_MS = 60 * 60_000;

const builds = new Map<string, Promise<string>>();

/** Runs a fixture build script once per test file and returns the path it prints last. */
function fixture(script: string): Promise<string> {
  let result = builds.get(script);
  if (!result) {
    result = (async () => {
      // stderr streams live, so a cold cargo build shows progress instead of looking hung.
      const r = await runCommand('bash', [repoPath(script)], {
        stderr: 'inherit',
        timeoutMs: WASM_FIXTURE_TIMEOUT_MS,
      });
      const path = r.stdout.trim().split('\n').at(-1);
      if (r.code !== 0 || !path) {
        throw new Error(
          `${script} failed (exit ${r.code}, signal ${r.signal}); its log is in the test output above`,
        );
      }
      return path;
    })();
    builds.set(script, result);
  }
  return result;
}

/** containerd-shim-wasmtime-v1 built from e2e/shim; `${path}.sha256` is its sha256sum line. */
export function wasmShimPath(): Promise<string> {
  return fixture('e2e/tools/build-wasm-shim.sh');
}

/** OCI archive of WASM_HELLO_IMAGE, for `ctr images import`. */
export function wasmHelloArchive(): Promise<string> {
  return fixture('e2e/wasm/build-hello-image.sh');
}

/**
 * The crun-wasm bundle as the installer image ships it (e2e/tools/build-crun-wasm.sh): a
 * directory with crun-wasm/ and manifest-entry.json.
 */
export function crunWasmBundle(): Promise<string> {
  return fixture('e2e/tools/build-crun-wasm.sh');
}
