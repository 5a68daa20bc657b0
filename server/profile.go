package server

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
)

// Profiling is a developer aid for the benchmark harness (tests/bench),
// not a feature: when these environment variables name a file,
// Run writes a CPU profile covering the whole serve (from start to the
// end of the graceful stop) and, at stop, a heap profile whose
// alloc_objects/alloc_space samples count every allocation since start.
// Read them with `go tool pprof -top BINARY FILE`. SEALOG_TRACE names a
// file for a runtime execution trace of the whole serve, which shows what
// every goroutine waited for (`go tool trace -pprof=sync FILE`:
// it is how the pipeline was found to be the serial stage). Unset (the default),
// nothing is started. No listener is opened for this: a log host has no
// business serving a debug endpoint.
const (
	cpuProfileEnv = "SEALOG_CPUPROFILE"
	memProfileEnv = "SEALOG_MEMPROFILE"
	traceEnv      = "SEALOG_TRACE"
)

// startRecording creates path and starts a recording into it (a trace or
// a CPU profile). It returns the file to close after stopping, or nil if
// path is empty or the start failed (said on stderr under the name of the
// variable env).
func startRecording(env, path string, start func(io.Writer) error, stderr io.Writer) *os.File {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err == nil {
		if err = start(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "sealog: %s: %v\n", env, err)
		return nil
	}
	return f
}

// startProfiles starts what the environment asks for and returns the
// function that finishes it. Failures go to stderr and never stop the
// server: a profile is not worth a lost event.
//
// With SEALOG_MEMPROFILE set it also prints, at stop, one line
// "sealog: profile: mallocs=N total_alloc=BYTES" (runtime.MemStats since
// process start), which the harness divides by the events written.
func startProfiles(stderr io.Writer) (stop func()) {
	cpuPath, memPath, tracePath := os.Getenv(cpuProfileEnv), os.Getenv(memProfileEnv), os.Getenv(traceEnv)
	if cpuPath == "" && memPath == "" && tracePath == "" {
		return func() {}
	}
	traceFile := startRecording(traceEnv, tracePath, trace.Start, stderr)
	cpuFile := startRecording(cpuProfileEnv, cpuPath, pprof.StartCPUProfile, stderr)
	return func() {
		if traceFile != nil {
			trace.Stop()
			if err := traceFile.Close(); err != nil {
				fmt.Fprintf(stderr, "sealog: %s: %v\n", traceEnv, err)
			}
		}
		if cpuFile != nil {
			pprof.StopCPUProfile()
			if err := cpuFile.Close(); err != nil {
				fmt.Fprintf(stderr, "sealog: %s: %v\n", cpuProfileEnv, err)
			}
		}
		if memPath == "" {
			return
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		line := []byte("sealog: profile: mallocs=")
		line = strconv.AppendUint(line, ms.Mallocs, 10)
		line = append(line, " total_alloc="...)
		line = strconv.AppendUint(line, ms.TotalAlloc, 10)
		stderr.Write(append(line, '\n'))
		f, err := os.Create(memPath)
		if err == nil {
			// "allocs" is the heap profile with every sample since start,
			// so alloc_objects is the allocation count of the whole run.
			err = pprof.Lookup("allocs").WriteTo(f, 0)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "sealog: %s: %v\n", memProfileEnv, err)
		}
	}
}
