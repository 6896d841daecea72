// Command go-writer measures how many writes per second kube-apiserver accepts from a Go
// HTTP/2 client (net/http, as client-go configures it: one TLS connection, HTTP/2 streams).
// The bench runs it next to the operator's own client against the same apiserver, so the two
// client stacks are compared in one run. Standard library only: it builds from the Go
// toolchain alone, with no module downloads.
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	server := flag.String("server", "", "apiserver URL, https://host:port")
	caFile := flag.String("ca", "", "CA bundle of the apiserver")
	tokenFile := flag.String("token-file", "", "file with a bearer token")
	nodes := flag.String("nodes", "", "comma-separated Node names to patch, round robin")
	writes := flag.Int("writes", 2000, "merge patches to send")
	concurrency := flag.Int("concurrency", 64, "patches in flight")
	flag.Parse()
	if *server == "" || *caFile == "" || *tokenFile == "" || *nodes == "" {
		fmt.Fprintln(os.Stderr, "usage: go-writer -server URL -ca FILE -token-file FILE -nodes a,b,c [-writes N] [-concurrency C]")
		os.Exit(2)
	}
	ca, err := os.ReadFile(*caFile)
	check(err)
	token, err := os.ReadFile(*tokenFile)
	check(err)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		check(fmt.Errorf("no certificates in %s", *caFile))
	}
	transport := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
	}
	client := &http.Client{Transport: transport, Timeout: 60 * time.Second}
	names := strings.Split(*nodes, ",")
	auth := "Bearer " + strings.TrimSpace(string(token))

	var next, failed atomic.Int64
	var proto atomic.Value
	patch := func(i int64) error {
		body := fmt.Sprintf(`{"metadata":{"annotations":{"bench.wasm-node.dev/raw-write":"go-%d"}}}`, i)
		req, err := http.NewRequest(http.MethodPatch, *server+"/api/v1/nodes/"+names[i%int64(len(names))], bytes.NewBufferString(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/merge-patch+json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Authorization", auth)
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		proto.Store(res.Proto)
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			return err
		}
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("HTTP %d", res.StatusCode)
		}
		return nil
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < *concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(*writes) {
					return
				}
				if err := patch(i); err != nil {
					if failed.Add(1) == 1 {
						fmt.Fprintln(os.Stderr, "write failed:", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	seconds := time.Since(start).Seconds()
	p, _ := proto.Load().(string)
	check(json.NewEncoder(os.Stdout).Encode(map[string]any{
		"writes": *writes, "failed": failed.Load(), "seconds": seconds,
		"perSecond": float64(*writes) / seconds, "protocol": p,
	}))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
