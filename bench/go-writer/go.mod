module wasm-node.dev/bench/go-writer

go 1.22
