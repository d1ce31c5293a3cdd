package benchkit

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// This file reads Linux's /proc. Where /proc cannot be read (another OS, a
// process gone) the functions return zero values rather than errors: the
// programs then print 0 for a figure they could not take.

// ProcStat returns the fields of /proc/PID/stat after the command name
// (which may hold spaces and parentheses), so field 0 is the state, field 1
// the parent and fields 11 and 12 the user and system CPU ticks; nil where
// it cannot be read.
func ProcStat(pid int) []string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	return parseStat(string(data))
}

func parseStat(s string) []string {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// ProcTree returns root and all its live descendants, found through the
// parent of every process in /proc; just root where /proc cannot be read.
func ProcTree(root int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return []int{root}
	}
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == root {
			continue
		}
		if f := ProcStat(pid); len(f) >= 2 {
			ppid, _ := strconv.Atoi(f[1])
			children[ppid] = append(children[ppid], pid)
		}
	}
	tree := []int{root}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, children[tree[i]]...)
	}
	return tree
}

// TreeCPU is the CPU time (user + system) process root and its descendants
// have used so far.
func TreeCPU(root int) time.Duration {
	var sum time.Duration
	for _, pid := range ProcTree(root) {
		sum += statCPU(ProcStat(pid))
	}
	return sum
}

// statCPU is the user + system time of ProcStat's fields.
func statCPU(f []string) time.Duration {
	if len(f) < 13 {
		return 0
	}
	return ticks(f[11]) + ticks(f[12])
}

// ticks converts clock ticks to time, assuming the usual 100 a second.
func ticks(s string) time.Duration {
	n, _ := strconv.ParseInt(s, 10, 64)
	return time.Duration(n) * 10 * time.Millisecond
}

// TreePeakRSS sums the high-water resident set sizes (VmHWM) of process
// root and its descendants, in bytes. The peaks need not coincide, so the
// sum is an upper bound for the tree.
func TreePeakRSS(root int) int64 {
	var sum int64
	for _, pid := range ProcTree(root) {
		_, peak := RSS(pid)
		sum += peak
	}
	return sum
}

// RSS returns the resident set size (VmRSS) of a process and its peak
// (VmHWM), in bytes, from /proc/PID/status.
func RSS(pid int) (cur, peak int64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	return parseRSS(string(data))
}

func parseRSS(status string) (cur, peak int64) {
	for _, l := range strings.Split(status, "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			n, _ := strconv.ParseInt(f[1], 10, 64)
			cur = n << 10
		case "VmHWM:":
			n, _ := strconv.ParseInt(f[1], 10, 64)
			peak = n << 10
		}
	}
	return cur, peak
}
