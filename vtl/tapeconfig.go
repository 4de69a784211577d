package vtl

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"tapelab/fixtures/tapeconfig"
)

// DensitySetting is one of a drive model's l/m/h/a settings.
type DensitySetting struct {
	Description string
	Density     byte
	Algorithm   byte // compression algorithm; 0: none
}

// TapeConfig is a parsed tape configuration file (seed 001 format).
type TapeConfig struct {
	File          string
	VendorID      string
	ProductID     string
	IDMatchSize   int
	VendorPretty  string
	ProductPretty string
	// Densities indexed by suffix 'l', 'm', 'h', 'a'.
	Densities   map[byte]DensitySetting
	Autoload    bool
	CmdTimeouts map[byte]time.Duration // cmd_timeout_0xNN
}

// DensitySuffixes are the tape device name suffixes, lowest first.
var DensitySuffixes = []byte{'l', 'm', 'h', 'a'}

// ParseTapeConfig parses a tape configuration file: key=value lines, values
// optionally quoted, '#' comments. vendor_id and product_id are required;
// vendor_pretty and product_pretty come together or not at all.
func ParseTapeConfig(name string, data []byte) (*TapeConfig, error) {
	c := &TapeConfig{File: name, Densities: map[byte]DensitySetting{}, CmdTimeouts: map[byte]time.Duration{}}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: expected key=value: %w", name, line, ErrInvalid)
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		if strings.ContainsRune(v, '"') || strings.IndexFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
			return nil, fmt.Errorf("%s:%d: stray quote or control character: %w", name, line, ErrInvalid)
		}
		bad := func(why string) error { return fmt.Errorf("%s:%d: %s %s: %w", name, line, k, why, ErrInvalid) }
		switch {
		case k == "vendor_id":
			if len(v) > 8 {
				return nil, bad("longer than 8 bytes")
			}
			c.VendorID = v
		case k == "product_id":
			if len(v) > 16 {
				return nil, bad("longer than 16 bytes")
			}
			c.ProductID = v
		case k == "id_match_size":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 16 {
				return nil, bad("not a number 0..16")
			}
			c.IDMatchSize = n
		case k == "vendor_pretty" || k == "vendor.pretty":
			if len(v) > 16 {
				return nil, bad("longer than 16 bytes")
			}
			c.VendorPretty = v
		case k == "product_pretty" || k == "product.pretty":
			if len(v) > 16 {
				return nil, bad("longer than 16 bytes")
			}
			c.ProductPretty = v
		case k == "autoload":
			switch strings.ToLower(v) {
			case "yes":
				c.Autoload = true
			case "no":
				c.Autoload = false
			default:
				return nil, bad("must be yes or no")
			}
		case strings.HasPrefix(k, "cmd_timeout_0x"):
			op, err := strconv.ParseUint(k[len("cmd_timeout_0x"):], 16, 8)
			if err != nil {
				return nil, bad("bad opcode")
			}
			d, err := parseTimeout(v)
			if err != nil {
				return nil, bad(err.Error())
			}
			c.CmdTimeouts[byte(op)] = d
		case len(k) > 2 && k[1] == '_' && strings.IndexByte("lmha", k[0]) >= 0:
			ds := c.Densities[k[0]]
			switch k[2:] {
			case "description":
				if len(v) > 24 {
					return nil, bad("longer than 24 bytes")
				}
				ds.Description = v
			case "density", "algorithm":
				n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(v), "0x"), 16, 8)
				if err != nil {
					return nil, bad("not a hex byte")
				}
				if k[2:] == "density" {
					ds.Density = byte(n)
				} else {
					ds.Algorithm = byte(n)
				}
			default:
				return nil, bad("unknown field")
			}
			c.Densities[k[0]] = ds
		default:
			return nil, bad("unknown field")
		}
	}
	if c.VendorID == "" || c.ProductID == "" {
		return nil, fmt.Errorf("%s: vendor_id and product_id are required: %w", name, ErrInvalid)
	}
	if (c.VendorPretty == "") != (c.ProductPretty == "") {
		return nil, fmt.Errorf("%s: vendor_pretty and product_pretty go together: %w", name, ErrInvalid)
	}
	if c.IDMatchSize == 0 || c.IDMatchSize > len(c.ProductID) {
		c.IDMatchSize = len(c.ProductID)
	}
	return c, nil
}

func parseTimeout(v string) (time.Duration, error) {
	for _, u := range []struct {
		suf string
		d   time.Duration
	}{{"ms", time.Millisecond}, {"m", time.Minute}, {"s", time.Second}} {
		if strings.HasSuffix(v, u.suf) {
			n, err := strconv.Atoi(strings.TrimSuffix(v, u.suf))
			if err != nil || n < 0 || n > 1000000 {
				return 0, fmt.Errorf("bad timeout %q", v)
			}
			return time.Duration(n) * u.d, nil
		}
	}
	return 0, fmt.Errorf("timeout %q needs a unit (m, s, ms)", v)
}

// Matches reports whether INQUIRY vendor/product identify this drive model.
func (c *TapeConfig) Matches(vendor, product string) bool {
	if !strings.EqualFold(strings.TrimSpace(vendor), c.VendorID) {
		return false
	}
	n := c.IDMatchSize
	if len(product) < n {
		return false
	}
	return strings.EqualFold(product[:n], c.ProductID[:n])
}

// Pretty is "vendor_pretty product_pretty" or "vendor product".
func (c *TapeConfig) Pretty() string {
	if c.VendorPretty != "" {
		return c.VendorPretty + " " + c.ProductPretty
	}
	return c.VendorID + " " + c.ProductID
}

// qualificationTable is the built-in table of qualified drives (vendor,
// product prefix). A drive found here is Qualified; one matched only by a
// tape configuration file is Dynamically Qualified.
var qualificationTable = []struct{ vendor, product string }{
	{"IBM", "ULT3580-TD5"}, {"IBM", "ULT3580-TD6"}, {"IBM", "ULT3580-TD7"}, {"IBM", "ULT3580-TD8"},
	{"HP", "Ultrium 5-SCSI"}, {"HP", "Ultrium 6-SCSI"}, {"HP", "Ultrium 7-SCSI"},
}

func inQualificationTable(vendor, product string) bool {
	for _, q := range qualificationTable {
		if strings.EqualFold(q.vendor, vendor) && strings.HasPrefix(strings.ToUpper(product), strings.ToUpper(q.product)) {
			return true
		}
	}
	return false
}

// loadTapeConfigs reads the shipped files and dir/tapeconfig/*.TCF (the
// node's own files win over shipped ones with the same vendor/product).
func loadTapeConfigs(dir string) ([]*TapeConfig, error) {
	var out []*TapeConfig
	add := func(fsys fs.FS, root string) error {
		names, err := fs.Glob(fsys, "*")
		if err != nil {
			return err
		}
		sort.Strings(names)
		for _, n := range names {
			if !strings.EqualFold(filepath.Ext(n), ".tcf") {
				continue
			}
			b, err := fs.ReadFile(fsys, n)
			if err != nil {
				return err
			}
			c, err := ParseTapeConfig(filepath.Join(root, n), b)
			if err != nil {
				return err
			}
			out = append([]*TapeConfig{c}, out...)
		}
		return nil
	}
	if err := add(tapeconfig.Files, "shipped"); err != nil {
		return nil, err
	}
	if dir != "" {
		if st, err := os.Stat(filepath.Join(dir, "tapeconfig")); err == nil && st.IsDir() {
			if err := add(os.DirFS(filepath.Join(dir, "tapeconfig")), filepath.Join(dir, "tapeconfig")); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// genericConfig is used for nonqualified drives.
func genericConfig(vendor, product string) *TapeConfig {
	return &TapeConfig{VendorID: vendor, ProductID: product, IDMatchSize: len(product),
		Densities: map[byte]DensitySetting{
			'l': {Description: "default", Density: 0, Algorithm: 0},
			'm': {Description: "default cmp", Density: 0, Algorithm: 1},
			'h': {Description: "default", Density: 0, Algorithm: 0},
			'a': {Description: "default cmp", Density: 0, Algorithm: 1},
		}, CmdTimeouts: map[byte]time.Duration{}}
}

// Format writes the configuration in the tape configuration file format.
func (c *TapeConfig) Format() string {
	var b strings.Builder
	fmt.Fprintf(&b, "vendor_id=\"%s\"\nproduct_id=\"%s\"\nid_match_size=%d\n", c.VendorID, c.ProductID, c.IDMatchSize)
	if c.VendorPretty != "" {
		fmt.Fprintf(&b, "vendor_pretty=\"%s\"\nproduct_pretty=\"%s\"\n", c.VendorPretty, c.ProductPretty)
	}
	for _, s := range DensitySuffixes {
		ds, ok := c.Densities[s]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "%c_description=\"%s\"\n%c_density=0x%02x\n%c_algorithm=0x%02x\n", s, ds.Description, s, ds.Density, s, ds.Algorithm)
	}
	if c.Autoload {
		b.WriteString("autoload=\"yes\"\n")
	}
	ops := make([]int, 0, len(c.CmdTimeouts))
	for op := range c.CmdTimeouts {
		ops = append(ops, int(op))
	}
	sort.Ints(ops)
	for _, op := range ops {
		fmt.Fprintf(&b, "cmd_timeout_0x%02x=%dms\n", op, c.CmdTimeouts[byte(op)].Milliseconds())
	}
	return b.String()
}
