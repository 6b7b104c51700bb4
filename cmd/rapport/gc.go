package main

import (
	"os"
	"runtime"
	"runtime/debug"
)

// The garbage collector's defaults for the long-running commands (serve, rawserve, bench). A
// GraphQL response allocates much short-lived memory (rows scanned, records converted, the
// response written); with Go's default GOGC of 100 the collector took about a third of the
// server's CPU under load (docs/benchmarks.md, "Reads in rounds, and the collector"). Collecting
// when the heap has grown by 400 % instead, under a soft limit of 100 MiB that makes it collect
// sooner as the process nears the limit, cut the server's CPU per page by a third for 35 MiB more
// memory. The standard GOGC and GOMEMLIMIT environment variables override either.
const (
	defaultGCPercent   = 400
	defaultMemoryLimit = 100 << 20
)

// tuneRuntime applies the collector's defaults that the environment does not override and, unless
// the process serves profiles (RAPPORT_PPROF_ADDR), turns off the sampling of allocations for heap
// profiles: Go walks the stack of one allocation per 512 KiB allocated, which was 3 % of the
// server's CPU under batch captures (300 MB allocated a second; docs/benchmarks.md).
func tuneRuntime(profiling bool) {
	if !profiling {
		runtime.MemProfileRate = 0
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}
