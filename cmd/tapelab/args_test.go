package main

import (
	"reflect"
	"testing"
)

func TestInterspersedFlagsMoveBeforePositionals(t *testing.T) {
	app := newApp()
	for _, tc := range []struct{ in, want []string }{
		{[]string{"tapelab", "volume", "create", "/vs1/v", "--size", "1g"}, []string{"tapelab", "volume", "create", "--size", "1g", "/vs1/v"}},
		{[]string{"tapelab", "--json", "--data", "/d", "volume", "list"}, []string{"tapelab", "--json", "--data", "/d", "volume", "list"}},
		{[]string{"tapelab", "volume", "create", "/vs1/v", "--size=2g", "--type", "DP"}, []string{"tapelab", "volume", "create", "--size=2g", "--type", "DP", "/vs1/v"}},
		{[]string{"tapelab", "snapshot", "diff", "/vs1/v", "a", "--", "-b"}, []string{"tapelab", "snapshot", "diff", "/vs1/v", "a", "--", "-b"}},
		{[]string{"tapelab", "nosuch", "x", "--y"}, []string{"tapelab", "nosuch", "x", "--y"}},
	} {
		if got := interspersed(app, tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v:\n got %v\nwant %v", tc.in, got, tc.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"512": 512, "20m": 20 << 20, "1g": 1 << 30, "1GB": 1 << 30, "2TiB": 2 << 40, "1.5k": 1536} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "lots", "-1g", "g"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
}
