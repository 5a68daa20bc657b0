package tlog

import "errors"

// ErrProof is returned when a proof does not lead to the expected root.
var ErrProof = errors.New("Merkle proof does not verify")

// VerifyInclusion checks an RFC 9162 §2.1.3.2 inclusion proof: that leaf
// (a LeafHash) is leaf index of the tree of size leaves whose hash is
// root, by the audit path proof (leaf upward).
func VerifyInclusion(leaf Hash, index, size uint64, proof []Hash, root Hash) error {
	if index >= size {
		return ErrProof
	}
	fn, sn := index, size-1
	r := leaf
	for _, p := range proof {
		if sn == 0 {
			return ErrProof // a longer path than the tree is high
		}
		if fn&1 == 1 || fn == sn {
			r = NodeHash(p, r)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = NodeHash(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 || r != root {
		return ErrProof
	}
	return nil
}

// VerifyConsistency checks an RFC 9162 §2.1.4.2 consistency proof: that
// the tree of size leaves with hash root extends the tree of old leaves
// with hash oldRoot.
func VerifyConsistency(old, size uint64, oldRoot, root Hash, proof []Hash) error {
	switch {
	case old > size:
		return ErrProof
	case old == size:
		if len(proof) != 0 || oldRoot != root {
			return ErrProof
		}
		return nil
	case old == 0:
		// Every tree extends the empty one; there is nothing to prove.
		if len(proof) != 0 || oldRoot != EmptyRoot() {
			return ErrProof
		}
		return nil
	}
	if len(proof) == 0 {
		return ErrProof
	}
	if old&(old-1) == 0 {
		// The old tree is a complete subtree: its root starts the path.
		proof = append([]Hash{oldRoot}, proof...)
	}
	fn, sn := old-1, size-1
	for fn&1 == 1 {
		fn >>= 1
		sn >>= 1
	}
	fr, sr := proof[0], proof[0]
	for _, c := range proof[1:] {
		if sn == 0 {
			return ErrProof
		}
		if fn&1 == 1 || fn == sn {
			fr = NodeHash(c, fr)
			sr = NodeHash(c, sr)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			sr = NodeHash(sr, c)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 || fr != oldRoot || sr != root {
		return ErrProof
	}
	return nil
}
