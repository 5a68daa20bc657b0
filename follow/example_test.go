package follow_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sealog/sealog/follow"
)

// Follow a log directory and stop after the first line.
func ExampleRun() {
	dir, err := os.MkdirTemp("", "follow-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "events-20261122T100000.000Z.log"), []byte("a line\n"), 0o640)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err = follow.Run(ctx, dir, follow.Options{}, func(file string, lineNo int, line []byte, err error) error {
		fmt.Printf("%s:%d: %s\n", file, lineNo, line)
		cancel()
		return nil
	})
	fmt.Println("done:", err)
	// Output:
	// events-20261122T100000.000Z.log:1: a line
	// done: <nil>
}
