package audit

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/sealog/sealog/seal"
	"github.com/sealog/sealog/tlog"
	"github.com/sealog/sealog/writer"
	"golang.org/x/mod/sumdb/note"
)

// ProofVersion is the version field of the proof JSON.
const ProofVersion = 1

// MaxProof bounds a proof read by ParseProof: a line is at most a few
// hundred KiB (--max-message-size, percent-encoded), two audit paths of at
// most 64 hashes and a checkpoint note of at most tlog.MaxCheckpoint.
const MaxProof = 4 << 20

// maxLine bounds a line prove reads from an event or security file.
const maxLine = 64 << 20

// Proof is the self-contained proof that one event or security line is
// in a log (docs/format.md §7.4): the line, its RFC 9162 inclusion proof
// in the tree of its file's lines up to the seal that covers it, that seal
// line, its inclusion proof in the seals tree, and the signed checkpoint
// of the seals tree. Hashes are standard base64.
type Proof struct {
	Version      int      `json:"version"`
	Origin       string   `json:"origin"`
	Line         string   `json:"line"`
	File         string   `json:"file"`
	LineIndex    uint64   `json:"line_index"`
	FileTreeSize uint64   `json:"file_tree_size"`
	FileProof    []string `json:"file_proof"`
	Seal         string   `json:"seal"`
	SealIndex    uint64   `json:"seal_index"`
	SealsProof   []string `json:"seals_proof"`
	Checkpoint   string   `json:"checkpoint"`
}

// ErrNotFound: no line of the directory has the ID.
var ErrNotFound = errors.New("no event or security line with this ID")

// Prove makes the proof of the line whose ID column is id, from the log
// directory dir and a signed checkpoint note (DIR/checkpoint, or one
// fetched from a witness). It checks everything it puts in the proof
// against the files, but not the checkpoint's signature (it holds no
// key): verify-proof does.
func Prove(dir string, checkpoint []byte, id string) (*Proof, error) {
	cp, err := tlog.Peek(checkpoint)
	if err != nil {
		return nil, err
	}
	seals, err := ReadSeals(dir)
	if err != nil {
		return nil, err
	}
	if cp.Size > seals.Tree.Size() {
		return nil, fmt.Errorf("the checkpoint is for %d seals, seals.log holds %d: %w", cp.Size, seals.Tree.Size(), ErrRollback)
	}
	if root, _ := seals.Tree.RootAt(cp.Size); root != cp.Root {
		return nil, fmt.Errorf("the checkpoint's root is not the root of the first %d seals: %w", cp.Size, ErrRewrite)
	}
	file, index, line, err := findID(dir, id)
	if err != nil {
		return nil, err
	}
	// The earliest seal of the file whose tree holds the line.
	var rec *seal.Record
	var recLine []byte
	for i := range seals.Records {
		r := &seals.Records[i]
		if r.File != file {
			continue
		}
		size := uint64(r.Lines)
		if r.Kind == seal.KindRecovered {
			size++ // a torn tail, if there is one, is one more leaf
		}
		if index < size {
			rec, recLine = r, seals.Lines[i]
			break
		}
	}
	if rec == nil {
		return nil, fmt.Errorf("%s: line %d (%s) is not sealed yet; try again after the next seal", file, index+1, id)
	}
	tree, err := fileTree(filepath.Join(dir, file), rec.Bytes)
	if err != nil {
		return nil, err
	}
	if tree.Root() != rec.Root {
		return nil, fmt.Errorf("%s: its first %d bytes do not have the ROOT of seal %d (the file was changed)", file, rec.Bytes, rec.Seq)
	}
	if index >= tree.Size() {
		return nil, fmt.Errorf("%s: line %d (%s) is not sealed yet; try again after the next seal", file, index+1, id)
	}
	if rec.Seq > cp.Size {
		return nil, fmt.Errorf("%s: line %d (%s) is sealed by seal %d, after the checkpoint's %d seals; try again with a newer checkpoint", file, index+1, id, rec.Seq, cp.Size)
	}
	fp, err := tree.InclusionProof(index, tree.Size())
	if err != nil {
		return nil, err
	}
	sp, err := seals.Tree.InclusionProof(rec.Seq-1, cp.Size)
	if err != nil {
		return nil, err
	}
	return &Proof{
		Version:      ProofVersion,
		Origin:       cp.Origin,
		Line:         string(line),
		File:         file,
		LineIndex:    index,
		FileTreeSize: tree.Size(),
		FileProof:    encodeHashes(fp),
		Seal:         string(recLine),
		SealIndex:    rec.Seq - 1,
		SealsProof:   encodeHashes(sp),
		Checkpoint:   string(checkpoint),
	}, nil
}

// findID returns the first line, in file-name order (opening order), of
// an events or security file of dir whose ID column (3) is id.
func findID(dir, id string) (file string, index uint64, line []byte, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", 0, nil, err
	}
	var names []string
	for _, e := range ents {
		if _, ok := seal.FileColumns(e.Name()); ok && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	want := []byte(id)
	for _, name := range names {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
		if err != nil {
			return "", 0, nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), maxLine)
		var i uint64
		for sc.Scan() {
			if bytes.Equal(column(sc.Bytes(), 2), want) {
				line := append([]byte(nil), sc.Bytes()...)
				f.Close()
				return name, i, line, nil
			}
			i++
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return "", 0, nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return "", 0, nil, fmt.Errorf("%s: %w", id, ErrNotFound)
}

// column returns the i-th (0-based) TAB-separated column of line.
func column(line []byte, i int) []byte {
	for ; i > 0; i-- {
		j := bytes.IndexByte(line, '\t')
		if j < 0 {
			return nil
		}
		line = line[j+1:]
	}
	if j := bytes.IndexByte(line, '\t'); j >= 0 {
		return line[:j]
	}
	return line
}

// fileTree builds the tree of the lines in the first n bytes of path
// (docs/format.md §4 ROOT), keeping every hash so it can cut proofs.
func fileTree(path string, n int64) (*tlog.Tree, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(io.LimitReader(f, n), 1<<20)
	tree := tlog.NewTree()
	var lh tlog.LeafHasher
	var carry []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(carry)+len(chunk) > maxLine {
				return nil, fmt.Errorf("%s: a line longer than %d bytes", path, maxLine)
			}
			carry = append(carry, chunk...)
			continue
		}
		if len(chunk) > 0 {
			line := chunk
			if len(carry) > 0 {
				line = append(carry, chunk...)
			}
			tree.Append(lh.Sum(bytes.TrimSuffix(line, []byte("\n"))))
			carry = carry[:0]
		}
		if err == io.EOF {
			return tree, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
}

func encodeHashes(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}

// Marshal is the proof as prove prints it: indented JSON and a newline,
// the UTF-8 of the checkpoint's signature lines as it is.
func (p *Proof) Marshal() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(p) // a Proof of strings and numbers always encodes
	return b.Bytes()
}

// ErrProofFormat is wrapped by every error about a proof that is not
// well-formed JSON of docs/format.md §7.4.
var ErrProofFormat = errors.New("malformed proof")

// ParseProof reads a proof strictly: one JSON object with exactly the
// fields of Proof, nothing after it, at most MaxProof bytes.
func ParseProof(b []byte) (*Proof, error) {
	if len(b) > MaxProof {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrProofFormat, MaxProof)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Proof
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProofFormat, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrProofFormat)
	}
	// Every field must have been present: a missing one decodes as zero,
	// which the checks in Verify refuse where zero is no valid value.
	return &p, nil
}

// VerifyOptions are the public keys a proof is checked with.
type VerifyOptions struct {
	Log note.Verifier // log.pub
	// Witnesses are cosignature verifiers (--witness-key); at least
	// MinCosignatures of them must have cosigned the checkpoint.
	Witnesses       []note.Verifier
	MinCosignatures int
}

// Verified is what a proof established.
type Verified struct {
	Checkpoint   tlog.Checkpoint
	Seal         seal.Record
	Cosignatures int
}

// Verify checks a proof with public keys only (docs/format.md §7.4): the
// checkpoint's signature by the log key (and cosignatures), the seal line
// in the seals tree at the checkpoint's size, and the line in the seal's
// tree of its file.
func Verify(p *Proof, opt VerifyOptions) (Verified, error) {
	var v Verified
	fail := func(format string, args ...any) (Verified, error) {
		return v, fmt.Errorf(format, args...)
	}
	if p.Version != ProofVersion {
		return fail("%w: version %d, want %d", ErrProofFormat, p.Version, ProofVersion)
	}
	cp, n, err := tlog.Open([]byte(p.Checkpoint), opt.Log, opt.Witnesses...)
	if err != nil {
		return fail("checkpoint: %w", err)
	}
	v.Checkpoint = cp
	if cp.Origin != p.Origin {
		return fail("origin %q is not the checkpoint's %q", p.Origin, cp.Origin)
	}
	v.Cosignatures = Cosigned(n, opt.Witnesses)
	if v.Cosignatures < opt.MinCosignatures {
		return fail("checkpoint: %d valid cosignatures, %d required", v.Cosignatures, opt.MinCosignatures)
	}
	rec, err := seal.ParseRecord([]byte(p.Seal))
	if err != nil {
		return fail("seal: %w", err)
	}
	v.Seal = rec
	if rec.Seq-1 != p.SealIndex {
		return fail("seal_index %d is not the seal's SEQ-1 (%d)", p.SealIndex, rec.Seq-1)
	}
	if rec.File != p.File {
		return fail("file %q is not the seal's FILE %q", p.File, rec.File)
	}
	sp, err := decodeHashes(p.SealsProof)
	if err != nil {
		return fail("seals_proof: %w", err)
	}
	if err := tlog.VerifyInclusion(tlog.LeafHash([]byte(p.Seal)), p.SealIndex, cp.Size, sp, cp.Root); err != nil {
		return fail("seals_proof: seal %d is not in the checkpoint's tree of %d seals: %w", rec.Seq, cp.Size, err)
	}
	size := uint64(rec.Lines)
	switch {
	case p.FileTreeSize == size:
	case p.FileTreeSize == size+1 && rec.Kind == seal.KindRecovered:
		// a recovered file's torn tail is one more leaf
	default:
		return fail("file_tree_size %d does not fit the seal's LINES %d", p.FileTreeSize, rec.Lines)
	}
	if p.LineIndex >= p.FileTreeSize {
		return fail("line_index %d is outside the file's tree of %d lines", p.LineIndex, p.FileTreeSize)
	}
	line := []byte(p.Line)
	if bytes.IndexByte(line, '\n') >= 0 {
		return fail("line holds an LF")
	}
	if p.LineIndex < size {
		cols, _ := seal.FileColumns(rec.File)
		if err := writer.CheckLine(line, cols); err != nil {
			return fail("line: %w", err)
		}
	}
	fp, err := decodeHashes(p.FileProof)
	if err != nil {
		return fail("file_proof: %w", err)
	}
	if err := tlog.VerifyInclusion(tlog.LeafHash(line), p.LineIndex, p.FileTreeSize, fp, rec.Root); err != nil {
		return fail("file_proof: the line is not line %d of the tree the seal's ROOT commits to: %w", p.LineIndex+1, err)
	}
	return v, nil
}

func decodeHashes(in []string) ([]tlog.Hash, error) {
	if len(in) > 64 {
		return nil, fmt.Errorf("%w: %d hashes, a path has at most 64", ErrProofFormat, len(in))
	}
	out := make([]tlog.Hash, len(in))
	for i, s := range in {
		b, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil || len(b) != tlog.HashSize {
			return nil, fmt.Errorf("%w: hash %d is not the base64 of 32 bytes", ErrProofFormat, i)
		}
		copy(out[i][:], b)
	}
	return out, nil
}
