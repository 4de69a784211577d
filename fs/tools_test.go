package fs_test

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"tapelab/volume"
)

// makeTree builds a source tree on the local disk with every kind of thing
// the copy tools must carry over: data, a sparse file, hard and symbolic
// links, a FIFO, a device node, xattrs, an ACL, odd modes and owners, and
// nanosecond timestamps.
func makeTree(t *testing.T, src string) {
	sh(t, fmt.Sprintf(`
src=%s
mkdir -p $src/dir/sub $src/empty
printf 'hello\n' > $src/a.txt
head -c 300000 /dev/urandom > $src/dir/random.bin
head -c 5000000 /dev/urandom > $src/dir/big.bin
ln $src/a.txt $src/dir/hardlink
ln -s ../a.txt $src/dir/link
mkfifo $src/fifo
mknod $src/null c 1 3
truncate -s 10M $src/sparse
printf x | dd of=$src/sparse bs=1 seek=5242880 conv=notrunc status=none
setfattr -n user.color -v blue $src/a.txt
setfattr -n user.bin -v 0x00ff00ff $src/dir
setfacl -m u:nobody:r,g:daemon:rw $src/dir/random.bin
setfacl -d -m u:nobody:rx $src/dir/sub
chown 1234:5678 $src/dir/sub
chmod 0750 $src/dir
chmod 2775 $src/dir/sub
chmod 0600 $src/dir/big.bin
touch -d '2001-02-03 04:05:06.123456789' $src/a.txt $src/dir/random.bin
touch -h -d '1999-12-31 23:59:59.987654321' $src/dir/link
touch -d '2010-01-01 00:00:00.5' $src/dir/sub $src/dir
`, q(src)))
}

// sameTree asserts that rsync finds nothing to change from a to b (content
// by checksum, perms, owners, times, hard links, ACLs, xattrs, devices).
func sameTree(t *testing.T, a, b string) {
	t.Helper()
	out := sh(t, fmt.Sprintf(`rsync -aHAXc --dry-run --itemize-changes %s/ %s/`, q(a), q(b)))
	if strings.TrimSpace(out) != "" {
		t.Errorf("trees %s and %s differ:\n%s", a, b, clip(out))
	}
}

func TestCopyTools(t *testing.T) {
	need(t, "rsync", "tar", "cp", "setfattr", "setfacl", "mkfifo", "mknod")
	_, vol := newVolume(t, 256<<20)
	mp := mountVolume(t, vol, nil)
	src := filepath.Join(t.TempDir(), "src")
	makeTree(t, src)
	m := mp.Dir()

	t.Run("cp -a", func(t *testing.T) {
		sh(t, fmt.Sprintf(`cp -a %s %s/cp`, q(src), q(m)))
		sameTree(t, src, m+"/cp")
	})
	t.Run("tar", func(t *testing.T) {
		sh(t, fmt.Sprintf(`mkdir %[2]s/tar && tar --xattrs --acls -C %[1]s -cf - . | tar --xattrs --xattrs-include='*' --acls -C %[2]s/tar -xpf -`, q(src), q(m)))
		sameTree(t, src, m+"/tar")
		// And back out of the mount: tar reads everything through FUSE.
		back := filepath.Join(t.TempDir(), "back")
		sh(t, fmt.Sprintf(`mkdir %[2]s && tar --xattrs --acls -C %[1]s/tar -cf - . | tar --xattrs --xattrs-include='*' --acls -C %[2]s -xpf -`, q(m), q(back)))
		sameTree(t, src, back)
	})
	t.Run("rsync -aHAX", func(t *testing.T) {
		sh(t, fmt.Sprintf(`rsync -aHAX %s/ %s/rsync/`, q(src), q(m)))
		sameTree(t, src, m+"/rsync")
		// A second run has nothing to transfer.
		out := sh(t, fmt.Sprintf(`rsync -aHAX --itemize-changes %s/ %s/rsync/`, q(src), q(m)))
		if strings.TrimSpace(out) != "" {
			t.Errorf("second rsync transferred:\n%s", clip(out))
		}
	})
	t.Run("find and du", func(t *testing.T) {
		want := sh(t, fmt.Sprintf(`cd %s && find . | sort`, q(src)))
		got := sh(t, fmt.Sprintf(`cd %s/rsync && find . | sort`, q(m)))
		if got != want {
			t.Errorf("find differs:\nsrc:\n%s\nmount:\n%s", clip(want), clip(got))
		}
		// The sparse file: 10 MiB apparent, one block allocated.
		apparent := sh(t, fmt.Sprintf(`du --apparent-size -B1 %s/rsync/sparse | cut -f1`, q(m)))
		alloc := sh(t, fmt.Sprintf(`du -B1 %s/rsync/sparse | cut -f1`, q(m)))
		if a, _ := strconv.Atoi(strings.TrimSpace(apparent)); a != 10<<20 {
			t.Errorf("du --apparent-size sparse = %q, want %d", apparent, 10<<20)
		}
		if a, _ := strconv.Atoi(strings.TrimSpace(alloc)); a <= 0 || a > 64<<10 {
			t.Errorf("du sparse = %q bytes allocated, want a few KiB", alloc)
		}
		// find . -links 2 -type f finds both names of the hard link.
		links := sh(t, fmt.Sprintf(`cd %s/cp && find . -type f -links 2 | sort`, q(m)))
		if links != "./a.txt\n./dir/hardlink\n" {
			t.Errorf("hard links found by find: %q", links)
		}
	})
	checkVolume(t, vol)
}

// checkVolume runs the volume's consistency check and fails on problems.
func checkVolume(t *testing.T, vol *volume.Volume) {
	t.Helper()
	rep, err := vol.Check()
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	if !rep.OK() {
		t.Errorf("volume check: %v", rep.Problems)
	}
}

func TestGit(t *testing.T) {
	need(t, "git")
	_, vol := newVolume(t, 256<<20)
	mp := mountVolume(t, vol, nil)
	m := q(mp.Dir())
	sh(t, fmt.Sprintf(`
cd %s && mkdir repo && cd repo
git init -q -b main .
git config user.email lab@example.com && git config user.name lab
for i in $(seq 1 40); do echo "line $i" > f$i.txt; done
mkdir -p src/pkg && printf 'package pkg\n' > src/pkg/a.go && ln -s src/pkg link
chmod +x f1.txt
git add -A && git commit -qm first
echo more >> f2.txt && git rm -q f3.txt && git commit -qam second
git gc -q
`, m))
	if out := sh(t, fmt.Sprintf(`git -C %s/repo status --porcelain`, m)); out != "" {
		t.Errorf("git status in the repository on the mount is not clean:\n%s", clip(out))
	}
	// A local clone hard-links the object files: links through FUSE.
	sh(t, fmt.Sprintf(`git clone -q %[1]s/repo %[1]s/clone`, m))
	if out := sh(t, fmt.Sprintf(`git -C %s/clone status --porcelain`, m)); out != "" {
		t.Errorf("git status after clone is not clean:\n%s", clip(out))
	}
	sh(t, fmt.Sprintf(`git -C %s/clone fsck --strict --no-progress`, m))
	if n := strings.TrimSpace(sh(t, fmt.Sprintf(`git -C %s/clone rev-list --count HEAD`, m))); n != "2" {
		t.Errorf("clone has %s commits, want 2", n)
	}
	// Clone back to local disk: reads everything through the mount.
	out := filepath.Join(t.TempDir(), "out")
	sh(t, fmt.Sprintf(`git clone -q --no-local %s/clone %s && git -C %s fsck --no-progress`, m, q(out), q(out)))
	if got := sh(t, fmt.Sprintf(`cat %s/f2.txt`, q(out))); got != "line 2\nmore\n" {
		t.Errorf("f2.txt after round trip = %q", got)
	}
	checkVolume(t, vol)
}

func TestDf(t *testing.T) {
	need(t, "df")
	_, vol := newVolume(t, 64<<20)
	mp := mountVolume(t, vol, nil)
	sh(t, fmt.Sprintf(`head -c 3000000 /dev/urandom > %s/f && mkdir %s/d && touch %s/d/x && sync`, q(mp.Dir()), q(mp.Dir()), q(mp.Dir())))
	st, err := mp.View().Statfs()
	if err != nil {
		t.Fatal(err)
	}
	fields := func(s string) []uint64 {
		lines := strings.Split(strings.TrimSpace(s), "\n")
		var out []uint64
		for _, f := range strings.Fields(lines[len(lines)-1]) {
			v, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				t.Fatalf("df output %q: %v", s, err)
			}
			out = append(out, v)
		}
		return out
	}
	got := fields(sh(t, fmt.Sprintf(`df -B1 --output=size,used,avail %s`, q(mp.Dir()))))
	bs := uint64(st.Bsize)
	want := []uint64{st.Blocks * bs, (st.Blocks - st.Bfree) * bs, st.Bavail * bs}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("df = %v, volume statfs = %v", got, want)
	}
	gotI := fields(sh(t, fmt.Sprintf(`df --output=itotal,iused,iavail %s`, q(mp.Dir()))))
	wantI := []uint64{st.Files, st.Files - st.Ffree, st.Ffree}
	if fmt.Sprint(gotI) != fmt.Sprint(wantI) {
		t.Errorf("df -i = %v, volume statfs = %v", gotI, wantI)
	}
	if plain := sh(t, fmt.Sprintf(`df -i %s`, q(mp.Dir()))); !strings.Contains(plain, fmt.Sprintf(" %d ", st.Files)) {
		t.Errorf("df -i does not show %d inodes:\n%s", st.Files, plain)
	}
	info := vol.Info()
	if int64(st.Blocks*bs) != info.Size || st.Files != info.InodeLimit {
		t.Errorf("statfs %d bytes / %d inodes, volume info %d bytes / %d inodes", st.Blocks*bs, st.Files, info.Size, info.InodeLimit)
	}
	if info.Used < 3000000 || int64((st.Blocks-st.Bfree)*bs) != info.Used {
		t.Errorf("used: df %d, volume info %d (3 MB written)", (st.Blocks-st.Bfree)*bs, info.Used)
	}
	if typ := strings.TrimSpace(sh(t, fmt.Sprintf(`df --output=fstype %s | tail -1`, q(mp.Dir())))); typ != "fuse.tapelab" {
		t.Errorf("fstype %q", typ)
	}
}

func TestXattrsAndACLs(t *testing.T) {
	need(t, "setfattr", "getfattr", "setfacl", "getfacl", "setpriv")
	_, vol := newVolume(t, 64<<20)
	mp := mountVolume(t, vol, nil)
	m := q(mp.Dir())
	sh(t, fmt.Sprintf(`cd %s && echo data > f && chmod 0640 f && mkdir d`, m))

	sh(t, fmt.Sprintf(`cd %s && setfattr -n user.a -v hello f && setfattr -n user.b -v 0x0001ff f && setfattr -n trusted.t -v x f`, m))
	got := sh(t, fmt.Sprintf(`cd %s && getfattr -d -m - --absolute-names -e hex f`, m))
	for _, w := range []string{"user.a=0x68656c6c6f", "user.b=0x0001ff", "trusted.t=0x78"} {
		if !strings.Contains(got, w) {
			t.Errorf("getfattr lacks %s:\n%s", w, got)
		}
	}
	sh(t, fmt.Sprintf(`cd %s && setfattr -x user.a f`, m))
	if out, err := shErr(fmt.Sprintf(`cd %s && getfattr -n user.a f`, m)); err == nil || !strings.Contains(out, "No such attribute") {
		t.Errorf("removed xattr still readable: %v %s", err, out)
	}

	// Access ACL: nobody gets read; the mode's group bits become the mask.
	if _, err := shErr(fmt.Sprintf(`setpriv --reuid=65534 --regid=65534 --clear-groups cat %s/f`, m)); err == nil {
		t.Fatalf("nobody could read a 0640 root file")
	}
	sh(t, fmt.Sprintf(`cd %s && setfacl -m u:nobody:rw f`, m))
	acl := sh(t, fmt.Sprintf(`cd %s && getfacl -c f`, m))
	for _, w := range []string{"user::rw-", "user:nobody:rw-", "group::r--", "mask::rw-", "other::---"} {
		if !strings.Contains(acl, w) {
			t.Errorf("getfacl lacks %q:\n%s", w, acl)
		}
	}
	if ls := sh(t, fmt.Sprintf(`cd %s && stat -c %%A f && ls -l f | cut -c1-11`, m)); !strings.HasPrefix(ls, "-rw-rw----\n-rw-rw----+") {
		t.Errorf("mode after setfacl:\n%s", ls)
	}
	if out := sh(t, fmt.Sprintf(`setpriv --reuid=65534 --regid=65534 --clear-groups cat %s/f`, m)); out != "data\n" {
		t.Errorf("nobody read %q through the ACL", out)
	}
	// chmod rewrites the mask.
	sh(t, fmt.Sprintf(`cd %s && chmod 0600 f`, m))
	if acl := sh(t, fmt.Sprintf(`cd %s && getfacl -c f`, m)); !strings.Contains(acl, "mask::---") {
		t.Errorf("chmod 0600 did not clear the mask:\n%s", acl)
	}
	if _, err := shErr(fmt.Sprintf(`setpriv --reuid=65534 --regid=65534 --clear-groups cat %s/f`, m)); err == nil {
		t.Errorf("nobody still reads after chmod 0600 masked the ACL")
	}
	// Removing the ACL leaves the plain mode.
	sh(t, fmt.Sprintf(`cd %s && setfacl -b f`, m))
	if ls := sh(t, fmt.Sprintf(`cd %s && ls -l f | cut -c1-11`, m)); strings.TrimSpace(ls) != "-rw-------" {
		t.Errorf("after setfacl -b: %q", ls)
	}

	// Default ACL: inherited by new files (access ACL) and directories (both).
	sh(t, fmt.Sprintf(`cd %s && setfacl -d -m u:nobody:rwx,m::rwx d && umask 022 && touch d/new && mkdir d/sub`, m))
	if acl := sh(t, fmt.Sprintf(`cd %s && getfacl -c d/new`, m)); !strings.Contains(acl, "user:nobody:rwx") || !strings.Contains(acl, "mask::r--") {
		t.Errorf("new file's inherited ACL:\n%s", acl)
	}
	if acl := sh(t, fmt.Sprintf(`cd %s && getfacl -c d/sub`, m)); !strings.Contains(acl, "default:user:nobody:rwx") {
		t.Errorf("new directory did not inherit the default ACL:\n%s", acl)
	}
}
