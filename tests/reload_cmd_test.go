package tests

// `sealog reload`, the unit's ExecReload: it returns only once the server
// has reloaded, so a handshake right after it sees the new certificate,
// and it fails (exit 1) when the reload failed.

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/sealog/sealog/devpki"
)

func TestReloadCommand(t *testing.T) {
	run := t.TempDir() // what RuntimeDirectory= gives the unit
	t.Setenv("RUNTIME_DIRECTORY", run)
	s := startSealog(t)
	pid := strconv.Itoa(s.cmd.Process.Pid)
	for i := 1; i <= 5; i++ {
		cert, key := s.PKI.Issue(t, "server-r"+strconv.Itoa(i), devpki.CertSpec{CN: "localhost", DNSNames: []string{"localhost"},
			IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true})
		serial, _ := reloadCertSerial(t, cert)
		reloadReplaceFile(t, s.PKI.ServerKey, reloadReadFile(t, key))
		reloadReplaceFile(t, s.PKI.ServerCert, reloadReadFile(t, cert))
		out, errOut, code := runSealog(t, "", "reload", "--pid", pid, "--run-dir", run)
		if code != 0 || !strings.Contains(out, "sealog: reload "+strconv.Itoa(i)+" done") {
			t.Fatalf("reload %d: exit %d, stdout %q, stderr %q; want 0 and a done line", i, code, out, errOut)
		}
		// No waiting: the command has returned, so the reload is done.
		if got := reloadServerSerial(t, s); got.Cmp(serial) != 0 {
			t.Errorf("reload %d: got serial %x right after `sealog reload` returned, want the new %x", i, got, serial)
		}
	}
	good := reloadServerSerial(t, s)
	reloadReplaceFile(t, s.PKI.ServerCert, []byte("not a certificate\n"))
	out, errOut, code := runSealog(t, "", "reload", "--pid", pid, "--run-dir", run)
	if code != 1 || !strings.Contains(errOut, "reload 6 failed, the old certificates are kept") || !strings.Contains(errOut, s.PKI.ServerCert) {
		t.Errorf("bad certificate: exit %d, stdout %q, stderr %q; want 1 naming the failed reload and the file", code, out, errOut)
	}
	if got := reloadServerSerial(t, s); got.Cmp(good) != 0 {
		t.Errorf("got serial %x after a failed reload, want the old %x", got, good)
	}
	reloadHUP(t, s, 6) // the failure is a security event too
}

// Usage mistakes exit 2 and name the flag.
func TestReloadCommandUsage(t *testing.T) {
	t.Setenv("MAINPID", "")
	t.Setenv("RUNTIME_DIRECTORY", "")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"reload"}, "--pid"},
		{[]string{"reload", "--pid", "abc"}, "--pid \"abc\""},
		{[]string{"reload", "--pid", "1", "--run-dir", "/run/sealog"}, "--pid \"1\""},
		{[]string{"reload", "--pid", "4242"}, "--run-dir"},
		{[]string{"reload", "--pid", "4242", "--run-dir", "/x", "--timeout", "0s"}, "--timeout"},
		{[]string{"reload", "--pid", "4242", "--run-dir", "/x", "extra"}, "unexpected argument"},
	} {
		_, errOut, code := runSealog(t, "", tt.args...)
		if code != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 naming %s", tt.args, code, errOut, tt.want)
		}
	}
}
