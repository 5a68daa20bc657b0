package seal

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Where the key state's bytes go on disk decides whether overwriting it
// in place forgets the old state (docs/format.md §10.2). ext4 writes a
// regular file's data blocks in place under data=ordered and
// data=writeback; but under data=journal, or for a file flagged for data
// journaling (chattr +j), every write of the state goes through the
// journal first, and a small file stored in its inode (the inline_data
// feature) is metadata, journaled on every write too: the journal then
// holds the last hundreds of states, each able to forge the seals made
// since. Copy-on-write file systems never overwrite in place at all.

// ext4/ioctl inode flags (linux/fs.h FS_*_FL).
const (
	flJournalData = 0x00004000 // FS_JOURNAL_DATA_FL, chattr +j
	flInlineData  = 0x10000000 // EXT4_INLINE_DATA_FL
)

// keySpace is the size keygen reserves for the key state: one block,
// allocated before the first byte is written, so that ext4 never stores
// the state inline in its inode.
const keySpace = 4096

// reserveBlock allocates a data block for the open key file f without
// changing its size. On ext4 with inline_data this also moves a state
// already in the inode out to a block of its own. File systems without
// fallocate are left as they are.
func reserveBlock(f *os.File) error {
	err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_KEEP_SIZE, 0, keySpace)
	if err == unix.EOPNOTSUPP || err == unix.ENOSYS {
		return nil
	}
	return err
}

// keyFSWarnings reports what about the key state's file system keeps
// earlier states despite the overwrite in place. It moves a state stored
// inline in its inode to a block of its own first: from then on the
// overwrite is in place, though the journal may still hold older states.
func keyFSWarnings(path string) []string {
	var warn []string
	f, _, err := openKeyFile(path, os.O_RDONLY)
	if err != nil {
		return nil // loadState reports it
	}
	defer f.Close()
	flags, ferr := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if ferr == nil && flags&flInlineData != 0 {
		// fallocate needs a descriptor open for writing.
		if w, _, err := openKeyFile(path, os.O_WRONLY); err == nil {
			reserveBlock(w)
			w.Close()
		}
		if ferr == nil {
			flags, ferr = unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
		}
		warn = append(warn, fmt.Sprintf("%s was stored inside its inode (ext4 inline_data), which is journaled on every write: the file system journal may hold earlier key states; it now has a block of its own", path))
		if ferr == nil && flags&flInlineData != 0 {
			warn[len(warn)-1] = fmt.Sprintf("%s is stored inside its inode (ext4 inline_data), which is journaled on every write: the file system journal keeps earlier key states; keep the key on a file system made without inline_data", path)
		}
	}
	if ferr == nil && flags&flJournalData != 0 {
		warn = append(warn, fmt.Sprintf("%s has data journaling on (chattr +j): the file system journal keeps earlier key states; chattr -j it", path))
	}
	var sfs unix.Statfs_t
	if unix.Fstatfs(int(f.Fd()), &sfs) == nil {
		switch uint32(sfs.Type) {
		case unix.BTRFS_SUPER_MAGIC, 0x2fc12fc1 /* ZFS */, unix.F2FS_SUPER_MAGIC, 0xca451a4e /* bcachefs */, unix.NILFS_SUPER_MAGIC:
			warn = append(warn, fmt.Sprintf("%s is on a copy-on-write or log-structured file system: overwriting the key state does not erase earlier states; keep it on ext4 or XFS", path))
		}
	}
	if opts, _ := mountOptions(f); hasOpt(opts, "data=journal") || hasOpt(ext4Options(f), "data=journal") {
		warn = append(warn, fmt.Sprintf("%s is on a file system mounted data=journal: the journal keeps earlier key states; mount it data=ordered", path))
	}
	return warn
}

// mountOptions returns the per-mount and super-block options of the
// mount f is on, from /proc/self/mountinfo.
func mountOptions(f *os.File) (string, bool) {
	var stx unix.Statx_t
	if err := unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &stx); err != nil || stx.Mask&unix.STATX_MNT_ID == 0 {
		return "", false
	}
	mi, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", false
	}
	defer mi.Close()
	id := strconv.FormatUint(stx.Mnt_id, 10)
	sc := bufio.NewScanner(mi)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[0] != id {
			continue
		}
		for i, v := range fields {
			if v == "-" && i+3 < len(fields) {
				return fields[5] + "," + fields[i+3], true
			}
		}
	}
	return "", false
}

func hasOpt(opts, opt string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == opt {
			return true
		}
	}
	return false
}

// ext4Options returns the full option list of the ext4 file system f is
// on, from /proc/fs/ext4/DEV/options, comma-separated; "" if it is not
// ext4. mountinfo omits options that are the file system's defaults, so
// a data=journal set with tune2fs -o journal_data shows only here.
func ext4Options(f *os.File) string {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return ""
	}
	dev, err := os.Readlink(fmt.Sprintf("/sys/dev/block/%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)))
	if err != nil {
		return ""
	}
	b, err := os.ReadFile("/proc/fs/ext4/" + filepath.Base(dev) + "/options")
	if err != nil {
		return ""
	}
	return strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", ",")
}
