package health

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/snapshot"
)

// TestPingWithoutICMPIsInconclusive: where the edge can open no ICMP
// socket (not root, no CAP_NET_RAW, net.ipv4.ping_group_range excluding
// its group), a PING check is inconclusive, as the node's other own
// failures are: a live origin is not marked down (every origin of a PING
// listener read abnormal). As root the test runs itself again as uid
// 65534; it skips where that user can open ICMP sockets too.
func TestPingWithoutICMPIsInconclusive(t *testing.T) {
	if os.Getuid() != 0 {
		pingWithoutICMP(t)
		return
	}
	dir, err := os.MkdirTemp("", "ping-test") // t.TempDir's parent is root's alone.
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	_ = os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "health.test")
	copyExecutable(t, bin)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run=^TestPingWithoutICMPIsInconclusive$", "-test.v", "-test.count=1")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as uid 65534: %v\n%s", err, out)
	}
	t.Logf("as uid 65534:\n%s", out)
}

// copyExecutable copies the running test binary to bin, where another
// user can run it.
func copyExecutable(t *testing.T, bin string) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

func pingWithoutICMP(t *testing.T) {
	if CanPing() {
		t.Skip("ICMP sockets open here without root")
	}
	p := NewPool(Options{})
	defer p.Close()
	b := p.Acquire(Key{Owner: "a", Proto: snapshot.ProtoUDP, Host: lo.Next().String(), Port: 53, // Loopback answers every echo.
		Check: snapshot.HealthCheck{Enabled: true, Interval: 50 * time.Millisecond, Timeout: 40 * time.Millisecond,
			Healthy: 1, Unhealthy: 2, CheckType: snapshot.CheckPing}})
	defer p.Release(b)
	time.Sleep(400 * time.Millisecond) // Eight checks.
	if _, _, err := b.check(); !b.Healthy() || !b.Status().Healthy {
		t.Fatalf("a live origin reads abnormal because the node cannot open an ICMP socket (check: %v)", err)
	}
}
