package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
)

// report prints the table of a run: every result line, ratios against
// direct, CPU of the proxy, per-core figures, then opengaap against
// haproxy and nginx with the project's targets.
func report(args []string) {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: loadgen report results.jsonl")
		os.Exit(2)
	}
	f, err := os.Open(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	var tests []string
	by := map[string]map[string]Result{}
	runs := map[[2]string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r Result
		if json.Unmarshal(sc.Bytes(), &r) != nil || r.Test == "" {
			continue
		}
		if by[r.Test] == nil {
			by[r.Test] = map[string]Result{}
			tests = append(tests, r.Test)
		}
		k := [2]string{r.Test, r.Label}
		runs[k]++
		by[r.Test][r.Label] = mean(by[r.Test][r.Label], r, runs[k])
	}
	order := []string{"direct", "opengaap", "opengaap+mirror", "haproxy", "nginx"}

	fmt.Println("| test | target | result | × direct | p50 µs | p99 µs | errors | proxy CPU s | proxy cores | result per proxy core |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, t := range tests {
		m := by[t]
		labels := slices.Clone(order)
		for l := range m {
			if !slices.Contains(labels, l) {
				labels = append(labels, l)
			}
		}
		for _, l := range labels {
			r, ok := m[l]
			if !ok {
				continue
			}
			d, hasD := m["direct"]
			x := "—"
			if hasD && d.Value > 0 && l != "direct" {
				x = fmt.Sprintf("%.2f×", r.Value/d.Value)
			}
			cpu, cores, per := "—", "—", "—"
			if l != "direct" {
				cpu = fmt.Sprintf("%.2f", r.ProxyCPU)
				cores = fmt.Sprintf("%.2f", r.ProxyCPU/r.Duration)
				if r.ProxyCPU > 0 {
					per = num(r.Value / (r.ProxyCPU / r.Duration))
				}
			}
			fmt.Printf("| %s | %s | %s %s | %s | %s | %s | %d | %s | %s | %s |\n",
				desc(r), l, num(r.Value), r.Unit, x, lat(r.P50us), lat(r.P99us), r.Errors, cpu, cores, per)
		}
	}

	fmt.Println()
	fmt.Println("| test | opengaap ÷ haproxy | per core ÷ haproxy | p99 ÷ haproxy | opengaap ÷ nginx | per core ÷ nginx | p99 ÷ nginx |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	for _, t := range tests {
		m := by[t]
		og, ok := m["opengaap"]
		if !ok {
			continue
		}
		cells := []string{}
		for _, o := range []string{"haproxy", "nginx"} {
			r, ok := m[o]
			if !ok || r.Value == 0 {
				cells = append(cells, "n/a", "n/a", "n/a")
				continue
			}
			cells = append(cells, ratio(og.Value, r.Value), ratio(perCore(og), perCore(r)), ratio(og.P99us, r.P99us))
		}
		fmt.Printf("| %s | %s |\n", t, strings.Join(cells, " | "))
	}

	fmt.Println()
	fmt.Println("Targets (opengaap):")
	for _, t := range tests {
		m := by[t]
		og, ok := m["opengaap"]
		if !ok {
			continue
		}
		if og.Unit == "B/conn" {
			continue // Memory per idle connection: reported, no target.
		}
		if h, ok := m["haproxy"]; ok && h.Value > 0 {
			check(fmt.Sprintf("%s: %s ≥ haproxy", t, og.Unit), og.Value >= h.Value, og.Value/h.Value)
			if og.P99us > 0 && h.P99us > 0 {
				check(fmt.Sprintf("%s: p99 ≤ haproxy", t), og.P99us <= h.P99us, og.P99us/h.P99us)
			}
		}
		if mi, ok := m["opengaap+mirror"]; ok && og.Value > 0 {
			check(fmt.Sprintf("%s: mirrored ≥ 0.9 × unmirrored", t), mi.Value >= 0.9*og.Value, mi.Value/og.Value)
		}
		if og.Unit == "pkts/s" {
			if n, ok := m["nginx"]; ok && perCore(n) > 0 {
				check(fmt.Sprintf("%s: pkts/s per core ≥ 1.2 × nginx", t), perCore(og) >= 1.2*perCore(n), perCore(og)/perCore(n))
			}
		}
	}
}

// mean folds r, the nth run of a test and target, into the mean m of the
// runs before it (the mirror pairs repeat each measurement).
func mean(m, r Result, n int) Result {
	if n == 1 {
		return r
	}
	avg := func(a, b float64) float64 { return a + (b-a)/float64(n) }
	m.Value, m.P50us, m.P99us = avg(m.Value, r.Value), avg(m.P50us, r.P50us), avg(m.P99us, r.P99us)
	m.ProxyCPU, m.Duration = avg(m.ProxyCPU, r.ProxyCPU), avg(m.Duration, r.Duration)
	m.Ops, m.Bytes, m.Errors = m.Ops+r.Ops, m.Bytes+r.Bytes, m.Errors+r.Errors
	return m
}

func check(what string, ok bool, r float64) {
	s := "MISS"
	if ok {
		s = "PASS"
	}
	fmt.Printf("  %-4s %s (%.2f×)\n", s, what, r)
}

func perCore(r Result) float64 {
	if r.ProxyCPU <= 0 || r.Duration <= 0 {
		return 0
	}
	return r.Value / (r.ProxyCPU / r.Duration)
}

func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func desc(r Result) string {
	switch r.Unit {
	case "MB/s":
		if strings.HasPrefix(r.Test, "mirror") {
			return fmt.Sprintf("%s (%d conn, interleaved pairs, mean)", r.Test, r.Conc)
		}
		return fmt.Sprintf("%s (%d conn)", r.Test, r.Conc)
	case "pkts/s":
		return fmt.Sprintf("%s (%d socks × %d in flight, %d B)", r.Test, r.Conc, r.Window, r.Size)
	case "conns/s":
		return fmt.Sprintf("%s (%d workers, %d B)", r.Test, r.Conc, r.Size)
	case "B/conn":
		return fmt.Sprintf("%s (%d idle conns, RSS growth per conn)", r.Test, r.Conc)
	}
	return fmt.Sprintf("%s (%d conns, %d B)", r.Test, r.Conc, r.Size)
}

func lat(us float64) string {
	if us == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f", us)
}

func num(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}
