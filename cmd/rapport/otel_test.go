package main

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// With OTEL_EXPORTER_OTLP_ENDPOINT set, the real binary exports its traces over OTLP/HTTP: a fake
// receiver gets span batches after a request and a graceful stop (which flushes the exporter).
func TestServeExportsTracesOverOTLP(t *testing.T) {
	var batches atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodPost && r.URL.Path == "/v1/traces" && len(body) > 0 {
			batches.Add(1)
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer receiver.Close()

	cmd := exec.Command(binary(t), "serve")
	cmd.Env = environ("RAPPORT_DATA_DIR="+filepath.Join(t.TempDir(), "data"), "RAPPORT_ADDR=127.0.0.1:0",
		"OTEL_EXPORTER_OTLP_ENDPOINT="+receiver.URL, "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", "OTEL_BSP_SCHEDULE_DELAY=200")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill() }()

	addr := make(chan string, 1)
	var mu sync.Mutex
	var lines []string
	logged := func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(lines, "\n")
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			lines = append(lines, line)
			mu.Unlock()
			if strings.Contains(line, `"msg":"listening"`) {
				if _, rest, ok := strings.Cut(line, `"addr":"`); ok {
					a, _, _ := strings.Cut(rest, `"`)
					addr <- a
				}
			}
		}
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-time.After(startTimeout): // a hang guard
		t.Fatalf("rapport serve did not start:\n%s", logged())
	}

	resp, err := http.Post(base+"/graphql", "application/json", strings.NewReader(`{"query":"{ __typename }"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "log:\n%s", logged())
	case <-time.After(60 * time.Second): // a hang guard
		t.Fatal("rapport serve did not stop")
	}
	require.Positive(t, batches.Load(), "no span batch reached the OTLP receiver; log:\n%s", logged())
}
