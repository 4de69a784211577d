// Command benchtable runs the project's Go benchmarks and the reference
// benchmarks beside them in one run, on the same disk, and prints one table
// of ratios (ours / reference). `make bench` runs it.
//
// Each row names two benchmarks (ours and the reference) and the metric to
// compare. Benchmarks report throughput with b.SetBytes (MB/s) or custom
// metrics with b.ReportMetric; "ns/op" rows compare speed as reference
// time / our time, so a ratio above 1 always means "we are faster".
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// row is one line of the table.
type row struct {
	Capability string
	Pkg        string
	Ours       string // benchmark name without the -GOMAXPROCS suffix
	Reference  string
	Metric     string // "MB/s", "ns/op", or a custom unit
	Target     string // as the issue states it
	// HigherIsBetter is true for throughput metrics; for times (ns/op)
	// the ratio is inverted so that > 1 means we are faster.
	HigherIsBetter bool
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// results maps benchmark name -> unit -> the values of each run, in order.
type results map[string]map[string][]float64

func runPkg(pkg, pattern, benchtime string, count int) (results, error) {
	args := []string{"test", "-run", "^$", "-bench", pattern, "-benchtime", benchtime, "-count", strconv.Itoa(count), "-timeout", "120m", pkg}
	cmd := exec.Command("go", args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	res := results{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		f := strings.Fields(m[2])
		if res[m[1]] == nil {
			res[m[1]] = map[string][]float64{}
		}
		for i := 0; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				res[m[1]][f[i+1]] = append(res[m[1]][f[i+1]], v)
			}
		}
	}
	if err != nil {
		return res, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	return res, nil
}

func main() {
	benchtime := flag.String("benchtime", "1x", "go test -benchtime")
	only := flag.String("only", "", "run only rows whose capability contains this text")
	// Several runs, because one run on a shared 2-vCPU VM can be off by 2x.
	// Run i of ours is paired with run i of the reference (where both are
	// sub-benchmarks of one function, go test -count alternates them), and
	// the table shows the median of the paired ratios and their range.
	count := flag.Int("count", 3, "runs of every benchmark (go test -count)")
	flag.Parse()

	byPkg := map[string][]row{}
	for _, r := range rows {
		if *only != "" && !strings.Contains(r.Capability, *only) {
			continue
		}
		byPkg[r.Pkg] = append(byPkg[r.Pkg], r)
	}
	pkgs := make([]string, 0, len(byPkg))
	for p := range byPkg {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)

	all := results{}
	failed := false
	for _, p := range pkgs {
		var names []string
		for _, r := range byPkg[p] {
			for _, b := range []string{r.Ours, r.Reference} {
				if b != "" {
					names = append(names, regexp.QuoteMeta(strings.SplitN(b, "/", 2)[0]))
				}
			}
		}
		fmt.Fprintf(os.Stderr, "== %s\n", p)
		res, err := runPkg(p, "^("+strings.Join(dedup(names), "|")+")$", *benchtime, *count)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			failed = true
		}
		for k, v := range res {
			all[k] = v
		}
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "Capability\tOurs (median)\tReference (median)\tRatio (median of %d)\tRange\tTarget\n", *count)
	fmt.Fprintln(tw, "----------\t-------------\t------------------\t------------------\t-----\t------")
	for _, p := range pkgs {
		for _, r := range byPkg[p] {
			ours, refs := all[r.Ours][r.Metric], all[r.Reference][r.Metric]
			o, okO := median(ours)
			if r.Reference == "" {
				fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t%s\n", r.Capability, show(o, okO, r.Metric), r.Target)
				continue
			}
			ref, okR := median(refs)
			var ratios []float64
			for i := 0; i < min(len(ours), len(refs)); i++ {
				if ours[i] > 0 && refs[i] > 0 {
					if r.HigherIsBetter {
						ratios = append(ratios, ours[i]/refs[i])
					} else {
						ratios = append(ratios, refs[i]/ours[i])
					}
				}
			}
			ratio, spread := "n/a", "-"
			if m, ok := median(ratios); ok {
				ratio = fmt.Sprintf("%.2fx", m)
				sort.Float64s(ratios)
				spread = fmt.Sprintf("%.2f-%.2f", ratios[0], ratios[len(ratios)-1])
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Capability, show(o, okO, r.Metric), show(ref, okR, r.Metric), ratio, spread, r.Target)
		}
	}
	tw.Flush()
	if failed {
		os.Exit(1)
	}
}

// median of vs (the mean of the middle two for an even count).
func median(vs []float64) (float64, bool) {
	if len(vs) == 0 {
		return 0, false
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2], true
	}
	return (s[n/2-1] + s[n/2]) / 2, true
}

func show(v float64, ok bool, unit string) string {
	if !ok {
		return "missing"
	}
	switch unit {
	case "ns/op":
		return fmt.Sprintf("%.3gs", v/1e9)
	}
	return fmt.Sprintf("%.4g %s", v, unit)
}

func dedup(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
