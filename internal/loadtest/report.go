package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"
)

// Result is what one scenario measured.
type Result struct {
	// Scenario is the scenario's name.
	Scenario string
	// Target is the kind of server measured (TargetRapport, ...); empty means Rapport.
	Target string
	// Rate is the arrival rate asked for (requests/s, open loop); 0 means maximum throughput with
	// Connections requests in flight (closed loop).
	Rate int
	// Connections is the most TCP connections (and, in a closed loop, requests in flight) used.
	Connections int
	// Requests counts the responses received (and requests that failed without one).
	Requests int
	// Errors counts the requests that failed: no response, an HTTP status other than 200, or a
	// GraphQL "errors" member.
	Errors int
	// Elapsed is the measured wall time, from the first request sent to the last response received.
	Elapsed time.Duration
	// Throughput is successful responses per second of Elapsed.
	Throughput float64
	// P50, P90 and P99 are latency percentiles (nearest rank) over all requests; Max is the slowest.
	P50, P90, P99, Max time.Duration
	// ServerRSS is the server's resident memory right after the scenario (bytes), 0 when unknown.
	ServerRSS int64
	// GoalRPS is the scenario's throughput goal, 0 when it has none.
	GoalRPS float64
	// FirstError describes the first failed request, "" when none failed.
	FirstError string
	// ItemsPerRequest is how many records each request wrote (batch scenarios), 0 for one.
	ItemsPerRequest int
}

// label names the result in tables: the scenario, and the target unless it is Rapport.
func (r Result) label() string {
	if r.Target == "" || r.Target == TargetRapport {
		return r.Scenario
	}
	return r.Scenario + " (" + r.Target + ")"
}

// ItemsPerSecond is the throughput in records written per second (batch scenarios), 0 for others.
func (r Result) ItemsPerSecond() float64 {
	if r.ItemsPerRequest <= 1 {
		return 0
	}
	return r.Throughput * float64(r.ItemsPerRequest)
}

// GoalMet reports whether the result meets the scenario's throughput goal, and whether the result
// says anything about it (a goal exists). It is met when no request failed and the successful
// throughput reached the goal; in an open loop, the rate asked for must also reach the goal and
// the server must have kept up with it (at least 98% of it served).
func (r Result) GoalMet() (met, known bool) {
	if r.GoalRPS <= 0 {
		return false, false
	}
	if r.Errors > 0 {
		return false, true
	}
	if r.Rate > 0 {
		return float64(r.Rate) >= r.GoalRPS && r.Throughput >= 0.98*float64(r.Rate), true
	}
	return r.Throughput >= r.GoalRPS, true
}

// Mode describes how the load was generated, e.g. "max, 32 conns" or "open 3000/s".
func (r Result) Mode() string {
	if r.Rate > 0 {
		return fmt.Sprintf("open %d/s", r.Rate)
	}
	return fmt.Sprintf("max, %d conns", r.Connections)
}

// MarshalJSON writes the result with durations in milliseconds and seconds.
func (r Result) MarshalJSON() ([]byte, error) {
	ms := func(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 3) }
	out := struct {
		Scenario    string  `json:"scenario"`
		Target      string  `json:"target,omitempty"`
		Mode        string  `json:"mode"`
		Rate        int     `json:"rate"`
		Connections int     `json:"connections"`
		Requests    int     `json:"requests"`
		Errors      int     `json:"errors"`
		Duration    float64 `json:"duration_s"`
		Throughput  float64 `json:"throughput_rps"`
		Latency     struct {
			P50 float64 `json:"p50"`
			P90 float64 `json:"p90"`
			P99 float64 `json:"p99"`
			Max float64 `json:"max"`
		} `json:"latency_ms"`
		ServerRSS  int64   `json:"server_rss_bytes,omitempty"`
		GoalRPS    float64 `json:"goal_rps,omitempty"`
		GoalMet    *bool   `json:"goal_met,omitempty"`
		FirstError string  `json:"first_error,omitempty"`
		Items      float64 `json:"items_per_s,omitempty"`
	}{
		Scenario: r.Scenario, Target: r.Target, Mode: r.Mode(), Rate: r.Rate, Connections: r.Connections,
		Requests: r.Requests, Errors: r.Errors, Duration: round(r.Elapsed.Seconds(), 3),
		Throughput: round(r.Throughput, 1), ServerRSS: r.ServerRSS, GoalRPS: r.GoalRPS, FirstError: r.FirstError,
		Items: round(r.ItemsPerSecond(), 1),
	}
	out.Latency.P50, out.Latency.P90, out.Latency.P99, out.Latency.Max = ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max)
	if met, known := r.GoalMet(); known {
		out.GoalMet = &met
	}
	return json.Marshal(out)
}

func round(v float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(v*p) / p
}

// WriteJSON writes the results as an indented JSON array.
func WriteJSON(w io.Writer, results []Result) error {
	if results == nil {
		results = []Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(results)
}

// WriteTable writes the results as an aligned text table, one scenario a row, followed by the first
// error of each scenario that had errors.
func WriteTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tmode\trequests\terrors\tduration\treq/s\tp50\tp90\tp99\tmax\tserver RSS\tgoal\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			r.label(), r.Mode(), r.Requests, r.Errors, r.Elapsed.Round(10*time.Millisecond), r.Throughput,
			FormatDuration(r.P50), FormatDuration(r.P90), FormatDuration(r.P99), FormatDuration(r.Max),
			FormatBytes(r.ServerRSS), goal(r))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range results {
		if r.ItemsPerRequest > 1 {
			if _, err := fmt.Fprintf(w, "%s: %d records per request: %.0f records/s\n", r.label(), r.ItemsPerRequest, r.ItemsPerSecond()); err != nil {
				return err
			}
		}
	}
	for _, r := range results {
		if r.Errors > 0 {
			if _, err := fmt.Fprintf(w, "%s: %d errors, first: %s\n", r.label(), r.Errors, r.FirstError); err != nil {
				return err
			}
		}
	}
	return nil
}

func goal(r Result) string {
	met, known := r.GoalMet()
	switch {
	case !known:
		return "-"
	case met:
		return fmt.Sprintf("≥%.0f met", r.GoalRPS)
	default:
		return fmt.Sprintf("≥%.0f MISSED", r.GoalRPS)
	}
}

// FormatDuration formats a latency compactly: 850µs, 12.34ms, 1.50s.
func FormatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}

// FormatBytes formats a memory size in MiB, or "-" when it is unknown (0).
func FormatBytes(n int64) string {
	if n <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// recorder accumulates the outcomes of a scenario's requests.
type recorder struct {
	latencies  []time.Duration
	errors     int
	firstError string
	start, end time.Time
}

// add records one request: when it was sent, how long it took, and why it failed (nil: it did not).
func (r *recorder) add(sent time.Time, latency time.Duration, err error) {
	r.latencies = append(r.latencies, latency)
	if err != nil {
		if r.errors == 0 {
			r.firstError = err.Error()
		}
		r.errors++
	}
	if r.start.IsZero() || sent.Before(r.start) {
		r.start = sent
	}
	if end := sent.Add(latency); end.After(r.end) {
		r.end = end
	}
}

// result summarizes what was recorded.
func (r *recorder) result() Result {
	res := Result{Requests: len(r.latencies), Errors: r.errors, FirstError: r.firstError}
	if len(r.latencies) == 0 {
		return res
	}
	res.Elapsed = r.end.Sub(r.start)
	if res.Elapsed > 0 {
		res.Throughput = float64(res.Requests-res.Errors) / res.Elapsed.Seconds()
	}
	sorted := slices.Clone(r.latencies)
	slices.Sort(sorted)
	res.P50, res.P90, res.P99 = quantile(sorted, 0.50), quantile(sorted, 0.90), quantile(sorted, 0.99)
	res.Max = sorted[len(sorted)-1]
	return res
}

// quantile returns the nearest-rank q-quantile of sorted, which must not be empty.
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
