package server

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sealog/sealog/metrics"
	"github.com/sealog/sealog/parse"
	"github.com/sealog/sealog/rotate"
	"github.com/sealog/sealog/seal"
	"github.com/sealog/sealog/tlog"
	"github.com/sealog/sealog/writer"
)

// cycleReader serves the same octet-framed frames again and again, the
// way a busy connection does, without any socket in the way.
type cycleReader struct {
	data []byte
	off  int
}

func (r *cycleReader) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}

// BenchmarkEventPath measures the per-event path without TLS: framing,
// parsing, encoding into a batch and writing the batch to a real file,
// which hashes it for the seal. One op is one event.
func BenchmarkEventPath(b *testing.B) {
	for _, size := range []int{200, 1024} {
		b.Run(strconv.Itoa(size)+"B", func(b *testing.B) {
			hdr := "<34>1 2026-11-22T10:15:00.123456Z host.example.net sshd 4123 ID47 [exampleSDID@32473 iut=\"3\"] "
			frame := hdr + strings.Repeat("x", max(size-len(hdr), 0))
			var stream strings.Builder
			for i := 0; i < 64; i++ {
				fmt.Fprintf(&stream, "%d %s", len(frame), frame)
			}
			f, err := rotate.Create(b.TempDir(), "events", time.Now(), false)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			ids, _ := writer.NewIDGen("bench")
			r := parse.NewReader(&cycleReader{data: []byte(stream.String())}, 65536)
			p := parse.NewParser()
			meta := writer.EventMeta{Peer: "192.0.2.10:51018", Auth: "client.example.net", TLS: "TLS1.3/TLS_AES_128_GCM_SHA256"}
			batch := make([]byte, 0, 2*batchLimit)
			var idBuf []byte
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				fr, err := r.Next()
				if err != nil {
					b.Fatal(err)
				}
				msg := p.Parse(fr.Data)
				idBuf = ids.AppendID(idBuf[:0], ids.Next())
				meta.Time, meta.ID = time.Now(), idBuf
				batch = writer.AppendEvent(batch, &meta, &msg)
				if len(batch) >= batchLimit {
					if _, err := f.Write(batch); err != nil {
						b.Fatal(err)
					}
					batch = batch[:0]
				}
			}
		})
	}
}

// BenchmarkPipelineAccept measures the pipeline's share of an event (issue
// 7): batches of 1 KiB and 200 B lines queued, written to a real
// file with its running SHA-256, and the batches given back to the pool —
// what sits between the connections and the disk. The checkpoint and
// fsync timers are not part of it.
func BenchmarkPipelineAccept(b *testing.B) {
	for _, bc := range []struct {
		size    int
		metrics bool
	}{{200, false}, {1024, false}, {200, true}, {1024, true}} {
		size := bc.size
		name := strconv.Itoa(size) + "B"
		if bc.metrics {
			name += "-metrics"
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			if err := seal.Keygen(filepath.Join(dir, "keys")); err != nil {
				b.Fatal(err)
			}
			cfg := &Config{Dir: dir, KeyPath: filepath.Join(dir, "keys", "seal.key"), FsyncInterval: time.Second}
			if bc.metrics {
				cfg.Metrics = metrics.New(dir)
			}
			chain, err := seal.OpenChain(dir, cfg.KeyPath, seal.ChainOptions{Head: io.Discard})
			if err != nil {
				b.Fatal(err)
			}
			defer chain.Close()
			ids, _ := writer.NewIDGen("bench")
			p := newPipeline(cfg, chain, ids, false, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
			if err := p.open(); err != nil {
				b.Fatal(err)
			}
			line := append(bytes.Repeat([]byte{'x'}, size-1), '\n')
			// The connection goroutines hash each line's leaf as they
			// make it (BenchmarkLeafHash); the pipeline only adds them.
			leaf := tlog.LeafHash(line[:len(line)-1])
			perBatch := batchLimit / len(line)
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += perBatch {
				n := min(perBatch, b.N-i)
				bt := getBatch()
				for range n {
					bt.events = append(bt.events, line...)
					bt.leaves = append(bt.leaves, leaf)
				}
				bt.lines = n
				p.accept(bt)
			}
			p.flushAll()
			b.StopTimer()
			p.finish()
		})
	}
}

// BenchmarkLeafHash is the work moved from the writer to the connection
// goroutines: one leaf hash per line (docs/format.md §4 ROOT).
func BenchmarkLeafHash(b *testing.B) {
	for _, size := range []int{200, 1024} {
		b.Run(strconv.Itoa(size)+"B", func(b *testing.B) {
			line := bytes.Repeat([]byte{'x'}, size-1)
			var h tlog.LeafHasher
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				h.Sum(line)
			}
		})
	}
}
