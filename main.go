// Command sealog is a hardened, syslog-compatible log server: it receives
// syslog over TLS, writes every event as one printable-ASCII line to
// append-only files, and seals the files into a forward-secure HMAC chain.
// See README.md and docs/format.md for the contract.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	os.Exit(exitCode(err, os.Stderr))
}

// run dispatches to a subcommand. It never panics on user input and never
// prints a stack trace: errors come back to main as values.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageErrorf("no subcommand given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "send":
		return runSend(ctx, rest, stdin, stdout, stderr)
	case "keygen":
		return runKeygen(rest, stdout, stderr)
	case "verify":
		return runVerify(rest, stdout, stderr)
	case "prove":
		return runProve(rest, stdout, stderr)
	case "verify-proof":
		return runVerifyProof(rest, stdout, stderr)
	case "export":
		return runExport(ctx, rest, stdout, stderr)
	case "version":
		return runVersion(rest, stdout, stderr)
	case "reload":
		return runReload(rest, stdout, stderr)
	case "--version":
		return runVersion(rest, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usageErrorf("unknown subcommand %q", cmd)
	}
}

const usage = `usage: sealog <command> [flags]

commands:
  serve         run the log server
  send          send syslog messages over TLS (client and load generator)
  keygen        make new keys: the seal chain's and the checkpoint signer
  verify        check a log directory against its seal chain
  prove         print the proof that one event is in the log
  verify-proof  check such a proof with public keys only
  export        print log lines decoded for analysis tools
  version       print version information
  reload        reload a running server's TLS files and wait until it has (systemd ExecReload)

Run 'sealog <command> -h' for the flags of a command, 'sealog --version'
for the version.
`

// usageError marks a usage or configuration error: exit status 2 (docs/format.md §1).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...)}
}

// errSilentFailure is returned when a command has already said why it
// failed (verify's problem lines) and only the exit status 1 remains.
var errSilentFailure = errors.New("")

// exitCode prints err (one sentence, no stack trace) and maps it to the
// exit statuses of docs/format.md §1: 0 success, 1 runtime failure, 2 usage error.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ue *usageError
	if errors.Is(err, errHelp) {
		return 0
	}
	if !errors.Is(err, errSilentFailure) {
		fmt.Fprintf(stderr, "sealog: %v\n", err)
	}
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}
