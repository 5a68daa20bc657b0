package seal

// ParseRecord parses one seal line of seals.log without its LF (docs/
// format.md §4), accepting only the canonical form sealog writes. It does
// not check the MAC: that needs the verify key. Readers that hold only
// public keys (proofs, checkpoints) use it for the columns.
func ParseRecord(line []byte) (Record, error) {
	r, _, err := parseLine(line)
	return r, err
}

// FileColumns returns the number of columns the lines of the events or
// security file name have (docs/format.md §3.3, §3.4), or false when name
// is no such file.
func FileColumns(name string) (int, bool) { return fileStream([]byte(name)) }
