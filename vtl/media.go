package vtl

import (
	"fmt"
	"strings"
)

const (
	gb = int64(1000 * 1000 * 1000)
	tb = 1000 * gb
)

// MediaTypes are the known cartridge generations (native capacity, LTO density code).
var MediaTypes = []MediaType{
	{Name: "LTO-1", Suffix: "L1", Capacity: 100 * gb, Density: 0x40},
	{Name: "LTO-2", Suffix: "L2", Capacity: 200 * gb, Density: 0x42},
	{Name: "LTO-3", Suffix: "L3", Capacity: 400 * gb, Density: 0x44},
	{Name: "LTO-4", Suffix: "L4", Capacity: 800 * gb, Density: 0x46},
	{Name: "LTO-5", Suffix: "L5", Capacity: 1500 * gb, Density: 0x58},
	{Name: "LTO-6", Suffix: "L6", Capacity: 2500 * gb, Density: 0x5a},
	{Name: "LTO-7", Suffix: "L7", Capacity: 6 * tb, Density: 0x5c},
	{Name: "LTO-8", Suffix: "L8", Capacity: 12 * tb, Density: 0x5e},
	{Name: "LTO-9", Suffix: "L9", Capacity: 18 * tb, Density: 0x60},
}

// LookupMediaType finds a media type by name ("LTO-8", "lto8") or barcode suffix ("L8").
func LookupMediaType(name string) (MediaType, bool) {
	n := strings.ToUpper(strings.ReplaceAll(name, "-", ""))
	for _, m := range MediaTypes {
		if n == strings.ReplaceAll(m.Name, "-", "") || n == m.Suffix {
			return m, true
		}
	}
	return MediaType{}, false
}

// mediaTypeForBarcode derives the media type from an LTO volume tag (TL0001L8).
func mediaTypeForBarcode(barcode string) (MediaType, bool) {
	if len(barcode) >= 2 {
		return LookupMediaType(strings.ToUpper(barcode[len(barcode)-2:]))
	}
	return MediaType{}, false
}

// earlyWarningZone is the size of the early-warning zone before the end of
// a medium of the given capacity: 1/32 of it, at most 1 GiB.
func earlyWarningZone(capacity int64) int64 {
	z := capacity / 32
	if z > 1<<30 {
		z = 1 << 30
	}
	return z
}

func validBarcode(b string) error {
	if b == "" || len(b) > 32 {
		return fmt.Errorf("barcode %q must be 1..32 characters: %w", b, ErrInvalid)
	}
	for _, r := range b {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("barcode %q: only A-Z, 0-9, - and _ are allowed: %w", b, ErrInvalid)
		}
	}
	return nil
}
