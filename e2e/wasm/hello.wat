;; A WASI preview-1 command: writes one greeting line to stdout and exits 0.
;; Hand-written WAT because no Rust/C wasm target can be downloaded on the CI machines; the
;; end-to-end tests assert on this exact line.
(module
  ;; fd_write(fd, iovs, iovs_len, nwritten_ptr) -> errno
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit"
    (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; one iovec at offset 0: { buf = 16, len = 46 }; the count of bytes written goes to 8
  (data (i32.const 0) "\10\00\00\00\2e\00\00\00")
  (data (i32.const 16) "Hello from WebAssembly on wasm-node-operator!\0a")
  (func (export "_start")
    ;; a failed write must not look like success to the tests
    (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))
      (then (call $proc_exit (i32.const 1))))
    (call $proc_exit (i32.const 0))))
