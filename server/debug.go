package server

import (
	"context"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
)

// debugGoroutinesEnv, when set to "1", makes SIGUSR1 print
// "goroutines N" on stderr. It is a hidden test aid, not a feature: the
// hostile-client suite (docs/format.md §5 "no goroutine leak") uses it to
// check that the server's goroutine count returns to its baseline after
// floods, without opening a debug endpoint on a security appliance.
// Unset (the default), nothing is installed and SIGUSR1 keeps its
// default action.
const debugGoroutinesEnv = "SEALOG_DEBUG_GOROUTINES"

// startDebug installs the SIGUSR1 handler when debugGoroutinesEnv is
// "1" and returns the function that removes it again.
func startDebug(stderr io.Writer) (stop func()) {
	if os.Getenv(debugGoroutinesEnv) != "1" {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-usr1:
				// This goroutine is part of the count; it is there for the
				// whole run, so it is part of every baseline too.
				line := strconv.AppendInt([]byte("goroutines "), int64(runtime.NumGoroutine()), 10)
				stderr.Write(append(line, '\n'))
			}
		}
	}()
	return func() {
		signal.Stop(usr1)
		cancel()
		<-done
	}
}
