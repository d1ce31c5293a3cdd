//go:build linux

// Package netnstest runs a test inside a network namespace of its own, where
// it may set firewall rules (iptables REDIRECT for transparent mode) without
// touching the machine's: the test binary runs itself again in a new user
// and network namespace, limited to that one test, whose loopback interface
// is the only one and is up.
//
// Where the test may not create the namespace, or iptables is missing, the
// test is skipped with the reason; with CI=true it fails instead, so that a
// CI machine that lost the means does not pass silently. Linux only.
package netnstest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// envInside names the test that a re-executed binary runs inside the
// namespace.
const envInside = "MITMGO_NETNS_TEST"

// Enter runs the calling test inside a new network namespace. In the
// namespace (the binary run again) it returns true and the test goes on
// there; outside it runs that binary, reports its output and result as the
// test's, and returns false: the caller returns at once.
//
//	if !netnstest.Enter(t, "iptables") { return }
//
// tools are the commands the test runs inside (looked up first, so that a
// missing one skips the test with its name).
func Enter(t *testing.T, tools ...string) bool {
	t.Helper()
	if os.Getenv(envInside) == t.Name() {
		if err := loopbackUp(); err != nil {
			t.Fatalf("netnstest: bringing lo up in the namespace: %v", err)
		}
		for _, tool := range tools {
			if tool != "iptables" && tool != "ip6tables" {
				continue
			}
			// The NAT table needs kernel modules that a user namespace
			// cannot load: say so rather than fail on the first rule.
			if out, err := exec.Command(tool, "-t", "nat", "-L", "-n").CombinedOutput(); err != nil {
				skipOrFail(t, fmt.Sprintf("%s cannot use the nat table in the test's network namespace "+
					"(are the nf_tables/iptable_nat modules loaded?): %v\n%s", tool, err, out))
				return false
			}
		}
		return true
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			skipOrFail(t, fmt.Sprintf("%s is not installed (apt-get install %s): %v", tool, aptPackage(tool), err))
			return false
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("netnstest: %v", err)
	}
	args := []string{"-test.run=" + runPattern(t.Name()), "-test.v", "-test.count=1"}
	if d, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout="+time.Until(d).Round(time.Second).String())
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), envInside+"="+t.Name())
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		GidMappingsEnableSetgroups: false,
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		skipOrFail(t, fmt.Sprintf("this test may not create a user and network namespace here (unshare -rn fails the same way; "+
			"see /proc/sys/kernel/unprivileged_userns_clone and user.max_user_namespaces): %v", err))
		return false
	}
	err = cmd.Wait()
	output := out.String()
	switch {
	case err != nil:
		t.Fatalf("the test failed inside its network namespace: %v\n%s", err, output)
	case strings.Contains(output, "--- SKIP: "+t.Name()):
		skipOrFail(t, "skipped inside the network namespace:\n"+output)
	case !strings.Contains(output, "--- PASS: "+t.Name()):
		t.Fatalf("the test did not run inside its network namespace:\n%s", output)
	}
	t.Logf("inside the network namespace:\n%s", output)
	return false
}

// skipOrFail skips the test, or fails it when CI=true.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: %s", why)
	}
	t.Skip(why)
}

func aptPackage(tool string) string {
	switch tool {
	case "iptables", "ip6tables":
		return "iptables"
	case "ip":
		return "iproute2"
	}
	return tool
}

// runPattern is a -test.run pattern for exactly the test (and subtest)
// named name.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// Run runs a command inside the namespace (iptables and the like) and
// fails the test with its output when it fails.
func Run(t *testing.T, name string, args ...string) {
	t.Helper()
	if os.Getenv(envInside) == "" {
		t.Fatalf("netnstest.Run(%s) outside a namespace: call Enter first", name)
	}
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// loopbackUp sets the IFF_UP flag of lo, as `ip link set lo up` does.
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	// struct ifreq: the interface name, then a union whose first member
	// used here is ifr_flags (short).
	var ifr [40]byte
	copy(ifr[:syscall.IFNAMSIZ-1], "lo")
	if err := ioctl(fd, syscall.SIOCGIFFLAGS, &ifr); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS: %w", err)
	}
	flags := (*uint16)(unsafe.Pointer(&ifr[syscall.IFNAMSIZ]))
	*flags |= syscall.IFF_UP | syscall.IFF_RUNNING
	if err := ioctl(fd, syscall.SIOCSIFFLAGS, &ifr); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS: %w", err)
	}
	return nil
}

func ioctl(fd int, req uintptr, ifr *[40]byte) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(unsafe.Pointer(ifr))); errno != 0 {
		return errno
	}
	return nil
}
