//! containerd-shim-wasmtime-v1: a minimal wasmtime shim for wasm-node-operator's tests.
//!
//! runwasi publishes only its shim *library* to crates.io, not the shim binaries, so the
//! tests build this one: `containerd-shim-wasm` does the containerd and container-lifecycle
//! work (youki's libcontainer); this file only runs a WASI preview-1 module with wasmtime.
//! Components (WASI preview 2) are out of scope.

use containerd_shim_wasm::sandbox::Sandbox;
use containerd_shim_wasm::sandbox::context::RuntimeContext;
use containerd_shim_wasm::shim::{Cli, Shim, Version, version};
use wasmtime::error::Context as _;
use wasmtime::{Engine, Linker, Module, Result, Store};
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

struct WasmtimeShim;

#[derive(Default)]
struct WasmtimeSandbox;

impl Shim for WasmtimeShim {
    type Sandbox = WasmtimeSandbox;

    // Becomes part of containerd's runtime name: io.containerd.wasmtime.v1.
    fn name() -> &'static str {
        "wasmtime"
    }

    fn version() -> Version {
        version!()
    }
}

impl Sandbox for WasmtimeSandbox {
    async fn run_wasi(&self, ctx: &impl RuntimeContext) -> anyhow::Result<i32> {
        let entrypoint = ctx.entrypoint();
        let bytes = entrypoint.source.as_bytes()?;
        // wasmtime 48 has its own error type; anyhow converts from it, not the other way round.
        run_module(&bytes, &entrypoint.func, ctx.args(), ctx.envs())
            .await
            .map_err(anyhow::Error::from)
    }
}

// The async API throughout: run_wasi already runs on the shim's tokio runtime, and the sync
// WASI bindings would try to block_on a nested runtime and panic.
async fn run_module(bytes: &[u8], func: &str, args: &[String], envs: &[String]) -> Result<i32> {
    let engine = Engine::default();
    let module = Module::new(&engine, bytes).context("compiling the Wasm module")?;

    let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
    p1::add_to_linker_async(&mut linker, |wasi| wasi)?;

    let mut wasi = WasiCtxBuilder::new();
    wasi.inherit_stdio().args(args);
    for pair in envs {
        if let Some((key, value)) = pair.split_once('=') {
            wasi.env(key, value);
        }
    }
    // run_wasi executes inside the container, after the pivot into its rootfs, so "/" is the
    // image's filesystem, not the node's.
    wasi.preopened_dir("/", "/", FsPerms::ReadWrite)?;

    let mut store = Store::new(&engine, wasi.build_p1());
    let instance = linker.instantiate_async(&mut store, &module).await?;
    let start = instance
        .get_typed_func::<(), ()>(&mut store, func)
        .with_context(|| format!("module has no export {func:?} of type () -> ()"))?;
    match start.call_async(&mut store, ()).await {
        Ok(()) => Ok(0),
        // proc_exit surfaces as a trap carrying the exit status; it is not a failure.
        Err(err) => match err.downcast_ref::<I32Exit>() {
            Some(exit) => Ok(exit.0),
            None => Err(err),
        },
    }
}

fn main() {
    WasmtimeShim::run(None);
}
