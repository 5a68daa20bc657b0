package seal

import "slices"

// checkPruned judges a file whose chain holds a `pruned` seal
// (docs/format.md §8): the seal must follow the file's final or recovered
// seal and repeat its BYTES, LINES and ROOT, nothing may follow it, and
// the file must be gone. A file pruned so is listed as a note. It returns
// false when the file has no pruned seal, leaving it to checkFile.
func (v *verifier) checkPruned(f *fileState) bool {
	i := slices.IndexFunc(f.seals, func(s fileSeal) bool { return s.kind == KindPruned })
	if i < 0 {
		return false
	}
	p := f.seals[i]
	ok := true
	var final *fileSeal
	if i > 0 && f.seals[i-1].kind.final() {
		final = &f.seals[i-1]
	}
	switch {
	case final == nil:
		v.problem("%s: seal %d: pruned seal for a file without a final or recovered seal", f.name, p.seq)
		ok = false
	case final.bytes != p.bytes || final.lines != p.lines || final.sum != p.sum:
		v.problem("%s: seal %d: pruned seal differs from its %s seal %d (BYTES, LINES or ROOT)", f.name, p.seq, final.kind, final.seq)
		ok = false
	}
	if i < len(f.seals)-1 {
		v.problem("%s: seal %d: %s seal after the pruned seal %d", f.name, f.seals[i+1].seq, f.seals[i+1].kind, p.seq)
		ok = false
	}
	if f.present {
		v.problem("%s: seal %d: pruned file is still present (restored or never deleted)", f.name, p.seq)
		return true
	}
	if ok {
		v.note("%s: pruned at seal %d (%d bytes, %d lines)", f.name, p.seq, p.bytes, p.lines)
	}
	return true
}
