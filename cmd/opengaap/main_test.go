package main

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/cloudapi"
)

// TestServeFirstStart runs the built binary as a user would: without
// credentials in the environment it generates a pair, saves it with mode
// 0600, serves the API with it, and exits cleanly on SIGTERM.
func TestServeFirstStart(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "opengaap")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	data := filepath.Join(dir, "data")
	cmd := exec.Command(bin, "serve", "--api-listen", addr, "--data-dir", data, "--vip-pool", "127.99.77.0/28")
	cmd.Env = append(os.Environ(), "TENCENTCLOUD_SECRET_ID=", "TENCENTCLOUD_SECRET_KEY=")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	var acct cloudapi.Account
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(data, "credentials.json"))
		if err == nil && json.Unmarshal(b, &acct) == nil && acct.SecretKey != "" {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not come up with generated credentials")
		}
		time.Sleep(50 * time.Millisecond)
	}
	fi, err := os.Stat(filepath.Join(data, "credentials.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}

	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Endpoint, cpf.HttpProfile.Scheme = addr, "HTTP"
	c, _ := gaapsdk.NewClient(common.NewCredential(acct.SecretID, acct.SecretKey), "ap-guangzhou", cpf)
	resp, err := c.DescribeProxies(gaapsdk.NewDescribeProxiesRequest())
	if err != nil || *resp.Response.TotalCount != 0 {
		t.Fatalf("DescribeProxies with the generated key: %v", err)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not exit after SIGTERM")
	}
}
