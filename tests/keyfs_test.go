package tests

import "testing"

// TestKeyDiskExt4DataJournal: under data=journal every write of seal.key
// goes through the journal, which then holds many earlier states (each
// able to forge the seals made since); no overwrite can reach them.
// serve must tell the operator at start.
func TestKeyDiskExt4DataJournal(t *testing.T) {
	keyDiskExt4(t, nil, nil, "loop,data=journal", "mounted data=journal")
}

// TestKeyDiskExt4InlineData: with ext4's inline_data feature a file as
// small as seal.key is kept inside its inode, which is metadata and
// journaled on every write: the journal held every earlier state. keygen
// gives the state a block of its own before writing it, so the
// overwrite in place holds again.
func TestKeyDiskExt4InlineData(t *testing.T) {
	keyDiskExt4(t, []string{"-O", "inline_data", "-I", "1024"}, nil, "loop", "")
}

// TestKeyDiskExt4JournalDataDefault: data=journal made the file system's
// default (tune2fs -o journal_data) does not show in the mount options
// of /proc/self/mountinfo; serve must find it all the same.
func TestKeyDiskExt4JournalDataDefault(t *testing.T) {
	keyDiskExt4(t, nil, []string{"-o", "journal_data"}, "loop", "mounted data=journal")
}
