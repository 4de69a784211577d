package fs

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// setfaclACL is what `setfacl -m u:nobody:rw,g:daemon:r` produces on a 0640 file.
var setfaclACL = acl{
	{aclUserObj, 6, aclUndefinedID},
	{aclUser, 6, 65534},
	{aclGroupObj, 4, aclUndefinedID},
	{aclGroup, 4, 1},
	{aclMask, 6, aclUndefinedID},
	{aclOther, 0, aclUndefinedID},
}

func TestACLRoundTrip(t *testing.T) {
	for _, a := range []acl{
		setfaclACL,
		{{aclUserObj, 7, aclUndefinedID}, {aclGroupObj, 5, aclUndefinedID}, {aclOther, 5, aclUndefinedID}},
		{},
	} {
		b := a.encode()
		got, err := parseACL(b)
		if err != nil {
			t.Fatalf("parse(encode(%v)): %v", a, err)
		}
		if len(a) == 0 && len(got) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, a) {
			t.Errorf("round trip: %v -> %v", a, got)
		}
		if !bytes.Equal(got.encode(), b) {
			t.Errorf("re-encode differs")
		}
	}
	// The kernel's byte layout: version 2, then tag/perm/id little-endian.
	b := acl{{aclUserObj, 6, aclUndefinedID}, {aclGroupObj, 4, aclUndefinedID}, {aclOther, 4, aclUndefinedID}}.encode()
	want := []byte{2, 0, 0, 0, 1, 0, 6, 0, 0xff, 0xff, 0xff, 0xff, 4, 0, 4, 0, 0xff, 0xff, 0xff, 0xff, 0x20, 0, 4, 0, 0xff, 0xff, 0xff, 0xff}
	if !bytes.Equal(b, want) {
		t.Errorf("encoding % x, want % x", b, want)
	}
}

func TestACLInvalid(t *testing.T) {
	for name, a := range map[string]acl{
		"no mask with named": {{aclUserObj, 6, 0}, {aclUser, 6, 5}, {aclGroupObj, 4, 0}, {aclOther, 0, 0}},
		"two owners":         {{aclUserObj, 6, 0}, {aclUserObj, 6, 0}, {aclGroupObj, 4, 0}, {aclOther, 0, 0}},
		"no other":           {{aclUserObj, 6, 0}, {aclGroupObj, 4, 0}},
		"bad perm":           {{aclUserObj, 8, 0}, {aclGroupObj, 4, 0}, {aclOther, 0, 0}},
		"duplicate user":     {{aclUserObj, 6, 0}, {aclUser, 6, 5}, {aclUser, 4, 5}, {aclGroupObj, 4, 0}, {aclMask, 6, 0}, {aclOther, 0, 0}},
		"unknown tag":        {{aclUserObj, 6, 0}, {0x40, 6, 0}, {aclGroupObj, 4, 0}, {aclOther, 0, 0}},
	} {
		if _, err := parseACL(a.encode()); !errors.Is(err, errBadACL) {
			t.Errorf("%s: %v, want errBadACL", name, err)
		}
	}
	for _, b := range [][]byte{nil, {2, 0, 0}, {1, 0, 0, 0}, {2, 0, 0, 0, 1}} {
		if _, err := parseACL(b); !errors.Is(err, errBadACL) {
			t.Errorf("% x: %v", b, err)
		}
	}
}

func TestACLModeArithmetic(t *testing.T) {
	if m := setfaclACL.applyToMode(0o100640); m != 0o100660 {
		t.Errorf("applyToMode = %o, want 100660 (group bits from the mask)", m)
	}
	ch := setfaclACL.chmod(0o100600)
	if ch.applyToMode(0) != 0o600 || ch[1].Perm != 6 {
		t.Errorf("chmod 600: %v", ch)
	}
	// Inheritance: default u::rwx,u:nobody:rwx,g::r-x,m::rwx,o::r-x with
	// create mode 0644 -> u::rw-, mask r--, o::r--.
	def := acl{{aclUserObj, 7, 0}, {aclUser, 7, 65534}, {aclGroupObj, 5, 0}, {aclMask, 7, 0}, {aclOther, 5, 0}}
	acc, mode := def.inherit(0o100644)
	if mode != 0o100644 || acc[0].Perm != 6 || acc[3].Perm != 4 || acc[4].Perm != 4 || acc[1].Perm != 7 {
		t.Errorf("inherit: %v mode %o", acc, mode)
	}
	if def.minimal() || !(acl{{aclUserObj, 7, 0}, {aclGroupObj, 5, 0}, {aclOther, 5, 0}}).minimal() {
		t.Errorf("minimal misclassified")
	}
}

func FuzzParseACL(f *testing.F) {
	f.Add(setfaclACL.encode())
	f.Add(acl{{aclUserObj, 7, 0}, {aclGroupObj, 5, 0}, {aclOther, 5, 0}}.encode())
	f.Add([]byte{2, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := parseACL(b)
		if err != nil {
			return
		}
		// Whatever parses re-encodes to something that parses to the same
		// entries (sorted) and the mode arithmetic stays within 0777.
		b2 := a.encode()
		a2, err := parseACL(b2)
		if err != nil {
			t.Fatalf("re-parse of %x: %v", b2, err)
		}
		if len(a2) != len(a) || !bytes.Equal(a2.encode(), b2) {
			t.Fatalf("not stable: %v vs %v", a, a2)
		}
		if m := a.applyToMode(0o170000); m&^0o170777 != 0 {
			t.Fatalf("mode %o", m)
		}
		if _, m := a.inherit(0o100777); m&^0o100777 != 0 {
			t.Fatalf("inherit mode %o", m)
		}
	})
}
