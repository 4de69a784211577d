package scsi

import "testing"

func TestSenseRoundTrip(t *testing.T) {
	for _, s := range []*Sense{
		NewSense(KeyNotReady, ASCMediumNotPresent),
		{Key: KeyNoSense, ASC: ASCFilemarkDetected, Filemark: true, Info: 4096, InfoValid: true, FieldPointer: -1},
		{Key: KeyNoSense, ASC: ASCNone, ILI: true, Info: -900, InfoValid: true, FieldPointer: -1},
		{Key: KeyVolumeOverflow, ASC: ASCEndOfPartition, EOM: true, Info: 1, InfoValid: true, FieldPointer: -1},
		InvalidField(true, 1, 3),
		InvalidField(false, 300, -1),
	} {
		for _, b := range [][]byte{s.Fixed(), s.Descriptor()} {
			back, err := ParseSense(b)
			if err != nil {
				t.Fatal(err)
			}
			if *back != *s {
				t.Fatalf("% x: %+v != %+v", b, back, s)
			}
		}
	}
	if len(NewSense(KeyNoSense, 0).Fixed()) != 18 {
		t.Fatal("fixed sense length")
	}
}

// FuzzParseSense: arbitrary bytes never panic; what parses re-encodes and parses the same.
func FuzzParseSense(f *testing.F) {
	f.Add(NewSense(KeyBlankCheck, ASCEndOfData).Fixed())
	f.Add(InvalidField(true, 4, 2).Descriptor())
	f.Add([]byte{0x72, 0, 0, 0, 0, 0, 0, 200, 0, 10})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSense(b)
		if err != nil {
			return
		}
		for _, enc := range [][]byte{s.Fixed(), s.Descriptor()} {
			if _, err := ParseSense(enc); err != nil {
				t.Fatalf("re-encoded sense does not parse: %v", err)
			}
		}
	})
}
