package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// RSSMetric is the Prometheus metric that carries a process's resident memory.
const RSSMetric = "process_resident_memory_bytes"

// ParseMetric returns the value of the first sample of the metric name in a Prometheus text
// exposition (version 0.0.4), and whether there was one. Comments are skipped; a sample is
// `name value [timestamp]` or `name{labels} value [timestamp]`.
func ParseMetric(r io.Reader, name string) (float64, bool, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		switch {
		case strings.HasPrefix(rest, "{"):
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				return 0, false, fmt.Errorf("metrics: malformed sample %q", line)
			}
			rest = rest[end+1:]
		case strings.HasPrefix(rest, " "), strings.HasPrefix(rest, "\t"):
		default:
			continue // another metric whose name starts with name
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0, false, fmt.Errorf("metrics: sample without value %q", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, false, fmt.Errorf("metrics: sample %q: %w", line, err)
		}
		return v, true, nil
	}
	return 0, false, sc.Err()
}

// ScrapeMetric fetches the Prometheus text exposition at metricsURL and returns the value of the
// metric name, and whether the server exports it.
func ScrapeMetric(ctx context.Context, client *http.Client, metricsURL, name string) (float64, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	if err != nil {
		return 0, false, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		return 0, false, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, false, fmt.Errorf("metrics: %s: HTTP %d: %s", metricsURL, resp.StatusCode, excerpt(b))
	}
	return ParseMetric(resp.Body, name)
}
