package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/server"
)

// TestServeFirstStart runs the built binary as a user would: without
// credentials in the environment it generates a pair, saves it with mode
// 0600, serves the API with it, and exits cleanly on SIGTERM.
//
// Its start line says where the (unauthenticated) scrape is: on the API
// listener by default (server's TestMetricsURL covers "off" and a
// listener of its own).
func TestServeFirstStart(t *testing.T) {
	cmd, addr, data, acct, log := startServe(t)
	edgetest.Eventually(t, 5*time.Second, func() bool {
		return strings.Contains(log.String(), "msg=serving api=http://"+addr+" metrics=http://"+addr+"/metrics ")
	}, "the serving line does not say the scrape is on the API listener; log:\n%s", log)
	fi, err := os.Stat(filepath.Join(data, "credentials.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}

	c := apiClient(addr, acct)
	resp, err := c.DescribeProxies(gaapsdk.NewDescribeProxiesRequest())
	if err != nil || *resp.Response.TotalCount != 0 {
		t.Fatalf("DescribeProxies with the generated key: %v", err)
	}

	// SIGTERM drains: the listener stops accepting at once, an open
	// connection keeps working, and serve exits as soon as it ends (well
	// before the 20 s grace).
	conn, access := openThroughListener(t, c)
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", access.String(), time.Second); err != nil {
			break
		} else {
			c.Close()
		}
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts after SIGTERM")
		}
		time.Sleep(50 * time.Millisecond)
	}
	echo(t, conn, "during the drain")
	select {
	case err := <-done:
		t.Fatalf("serve exited (%v) with a connection still open", err)
	case <-time.After(300 * time.Millisecond):
	}
	conn.Close()
	exitsOnceIdle(t, done, "SIGTERM")
}

// exitsOnceIdle waits for serve, whose Wait reports on done, to exit with
// status 0 soon after its last connection ended, signal having started
// its drain.
func exitsOnceIdle(t *testing.T, done <-chan error, signal string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after %s: %v; want status 0", signal, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not exit once the last connection ended")
	}
}

// TestServeStorePrivate: in a data dir the operator made (mkdir, 0755 by
// the usual umask), the SQLite store is the owner's only (0600), as
// credentials.json is: it holds basic-auth configurations, which may be
// plain-text passwords (docs/api-l7.md).
func TestServeStorePrivate(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd, addr, acct, log := startServeIn(t, data)
	req := gaapsdk.NewCreateCertificateRequest()
	req.CertificateType = new(int64(0))
	req.CertificateContent = new("alice:PlainTextSecret42")
	req.CertificateAlias = new("auth")
	if _, err := apiClient(addr, acct).CreateCertificate(req); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"opengaap.db", "opengaap.db-wal", "opengaap.db-shm"} {
		if fi, err := os.Stat(filepath.Join(data, name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", name, fi.Mode().Perm(), err)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v; log:\n%s", err, log)
	}
	if fi, err := os.Stat(filepath.Join(data, "opengaap.db")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("opengaap.db after exit: mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}

// TestServeSecretFilesMadePrivate guards the mode of the two secret files
// serve did not write itself: a credentials.json written by hand (umask
// 022) or a certificate-keys.key restored from a backup, readable by every
// local user, was used as is and silently, while the store beside them is
// made the owner's only. They are too, and the log names each.
func TestServeSecretFilesMadePrivate(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"credentials.json":     []byte(`{"SecretId":"AKIDhandwritten00001","SecretKey":"handwrittenrootsecret","AppId":1250000000,"Uin":"100000000001"}`),
		"certificate-keys.key": []byte("0123456789abcdef0123456789abcdef"),
	}
	for name, body := range files {
		p := filepath.Join(data, name)
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o644); err != nil { // Whatever the umask.
			t.Fatal(err)
		}
	}
	cmd, _, _, log := startServeIn(t, data)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v; log:\n%s", err, log)
	}
	for name := range files {
		p := filepath.Join(data, name)
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", name, fi.Mode().Perm(), err)
		}
		if !strings.Contains(log.String(), "level=WARN msg=\"file was readable by others; now by its owner only\" mode=0600 file="+p+"\n") {
			t.Errorf("log does not say %s was made private:\n%s", name, log)
		}
	}
}

// TestServeSettingsFilesOnPipes: --accounts and --gaap-config are each
// read once, so they may be pipes (/dev/stdin, bash's <(...), a FIFO fed
// by a secrets tool), which can be read only once: a second read found
// them empty and refused valid content with a misleading JSON error.
func TestServeSettingsFilesOnPipes(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	cfg, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	cmd := exec.Command(serveBinary(t), "serve", "--api-listen", addr, "--data-dir", data,
		"--vip-pool", "127.99.77.0/28", "--accounts", "/dev/stdin", "--gaap-config", "/dev/fd/3")
	cmd.Env = append(os.Environ(), "TENCENTCLOUD_SECRET_ID=", "TENCENTCLOUD_SECRET_KEY=")
	cmd.Stdin = strings.NewReader(`[{"SecretId": "AKIDother0000001", "SecretKey": "k", "AppId": 1250000001, "Uin": "100000000002"}]`)
	cmd.ExtraFiles = []*os.File{cfg}
	log := &edgetest.LogBuffer{}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// One Wait only: the cleanup kills and waits for it to return (a
	// second, concurrent Wait is a data race in os/exec).
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	io.WriteString(w, `{"domainSuffix": "pipe.opengaap.test"}`)
	w.Close()
	edgetest.Eventually(t, 20*time.Second, func() bool {
		select {
		case <-exited:
			t.Fatalf("serve with valid settings on pipes exited (%v); log:\n%s", waitErr, log)
		default:
		}
		return strings.Contains(log.String(), "msg=serving")
	}, "serve did not come up; log:\n%s", log)
	c := apiClient(addr, cloudapi.Account{SecretID: "AKIDother0000001", SecretKey: "k"})
	if _, err := c.DescribeProxies(gaapsdk.NewDescribeProxiesRequest()); err != nil {
		t.Errorf("the --accounts account read from stdin: %v", err)
	}
}

// TestUsageExitStatus: help asked for (opengaap --help, as serve -h)
// exits 0 with the usage; no command or an unknown one is a usage error,
// status 2.
func TestUsageExitStatus(t *testing.T) {
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"--help"}, 0}, {[]string{"-h"}, 0}, {[]string{"help"}, 0}, {[]string{"serve", "-h"}, 0},
		{nil, 2}, {[]string{"bogus"}, 2}, {[]string{"--version"}, 2},
	} {
		out, err := exec.Command(serveBinary(t), c.args...).CombinedOutput()
		if !strings.Contains(string(out), "sage") {
			t.Errorf("opengaap %v printed no usage: %s", c.args, out)
		}
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.want {
			t.Errorf("opengaap %v: exit status %d; want %d", c.args, code, c.want)
		}
	}
}

// TestServeRefusesArguments: a stray argument (a mistyped flag value, say)
// is refused before anything starts, not ignored.
func TestServeRefusesArguments(t *testing.T) {
	dir := t.TempDir()
	err := serve([]string{"--data-dir", dir, "--vip-pool", "127.77.0.0", "/24"})
	if err == nil || !strings.Contains(err.Error(), `"/24"`) {
		t.Fatalf("serve with a stray argument: %v; want it refused, naming it", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the refused start wrote %v", ents)
	}
}

// TestServeRefusesBadFlagValuesBeforeWriting: a mistyped flag value is
// refused before the data dir, root credentials (a fresh secret), the
// certificate-key file or a store are created, so a user who meant
// another --data-dir (or a postgres store) is not left with a stray,
// credential-bearing directory whose credentials a retry would then use.
func TestServeRefusesBadFlagValuesBeforeWriting(t *testing.T) {
	t.Setenv("TENCENTCLOUD_SECRET_ID", "")
	t.Setenv("TENCENTCLOUD_SECRET_KEY", "")
	for _, c := range []struct {
		args     []string
		want     string
		accounts string // written to a file passed as --accounts
	}{
		{args: []string{"--vip-pool", "127.77.0.0"}, want: "127.77.0.0"}, // missing /prefix
		{args: []string{"--vip-pool", "127.77.0.1/32"}, want: "too small"},
		{args: []string{"--vip-pool", "2001:db8::/64"}, want: "IPv4"},
		{args: []string{"--vip-pool-ipv6", "127.77.0.0/24"}, want: "--vip-pool-ipv6"},
		// An address no proxy can own: :: would bind the wildcard.
		{args: []string{"--vip-pool-ipv6", "::/128"}, want: "--vip-pool-ipv6: vip pool \"::/128\" overlaps ::/128 (the unspecified address)"},
		{args: []string{"--vip-pool", "224.0.0.0/24"}, want: "multicast"},
		{args: []string{"--store", "mysql://u@h/db"}, want: "--store"},
		// What the PostgreSQL driver refuses to parse, before the
		// credentials are written (they were).
		{args: []string{"--store", "postgres://u:pw@127.0.0.1:1/db?sslmode=bogus"}, want: "--store"},
		{args: []string{"--store", "postgres://u:pw@127.0.0.1:1/db?connect_timeout=abc"}, want: "--store"},
		{args: []string{"--gaap-config", "/nonexistent.json"}, want: "/nonexistent.json"},
		{args: []string{"--accounts", "/nonexistent.json"}, want: "/nonexistent.json"},
		// An accounts file is checked whole, as the API's accounts are: a
		// missing Uin, a malformed SecretId or a SecretId given twice.
		{want: "are required", accounts: `[{"SecretId": "AKIDother0000001", "SecretKey": "k", "AppId": 1250000001}]`},
		{want: "are required", accounts: `[{"SecretId": "short", "SecretKey": "k", "AppId": 1, "Uin": "100000000002"}]`},
		{want: "defined twice", accounts: `[{"SecretId": "AKIDother0000001", "SecretKey": "k", "Uin": "1"}, {"SecretId": "AKIDother0000001", "SecretKey": "k", "Uin": "2"}]`},
		// A Uin is an account number: one with a NUL or a "/" failed
		// every write of the account, blamed on the caller.
		{want: "not an account number", accounts: `[{"SecretId": "AKIDother0000001", "SecretKey": "k", "Uin": "1000\u00000002"}]`},
		{want: "not an account number", accounts: `[{"SecretId": "AKIDother0000001", "SecretKey": "k", "Uin": "tenant b/1"}]`},
		// A mistyped quota, or a switch the file has not, is not dropped.
		{want: "unknown field", accounts: `[{"SecretId": "AKIDother0000001", "SecretKey": "k", "Uin": "2", "AccessIPQuotas": 1}]`},
		{want: "unknown field", accounts: `[{"SecretId": "AKIDother0000001", "SecretKey": "k", "Uin": "2", "Disabled": true}]`},
		{want: "data after", accounts: `[{"SecretId": "AKIDother0000001", "SecretKey": "k", "Uin": "2"}] [{"SecretId": "AKIDother0000002", "SecretKey": "k", "Uin": "3"}]`},
		// The keys of one Uin share its quota (checked against what the
		// Uin holds) and AppId: a second key got past the cap.
		{want: "must agree", accounts: `[{"SecretId": "AKIDother0000001", "SecretKey": "k", "Uin": "2", "AccessIPQuota": 1}, {"SecretId": "AKIDother0000002", "SecretKey": "k", "Uin": "2"}]`},
		{want: "must agree", accounts: `[{"SecretId": "AKIDother0000001", "SecretKey": "k", "Uin": "2", "AppId": 1250000001}, {"SecretId": "AKIDother0000002", "SecretKey": "k", "Uin": "2", "AppId": 1250009999}]`},
		// A key of the root's Uin with another AppId, against the root
		// account (generated here): the credentials were written first.
		{want: "must agree", accounts: `[{"SecretId": "AKIDother0000001", "SecretKey": "k", "AppId": 1250000001, "Uin": "100000000001"}]`},
		{args: []string{"--api-cert", "/nonexistent.pem", "--api-key", "/nonexistent.key"}, want: "/nonexistent.pem"},
		// 0 is neither "no cap" nor "copy nothing" to the data plane: refused,
		// as is any negative value but -1 (the documented "no cap").
		{args: []string{"--mirror-rate-mbps", "0"}, want: "-1 for no cap"},
		{args: []string{"--mirror-rate-mbps", "-2"}, want: "-1 for no cap"},
		// A rate whose bytes per second overflow would wrap to negative, no
		// cap at all.
		{args: []string{"--mirror-rate-mbps", "9223372036855"}, want: "at most 9223372036854"},
		// The listen addresses, as net.Listen would read them (not bound).
		{args: []string{"--api-listen", "127.0.0.1:99999"}, want: "--api-listen 127.0.0.1:99999"},
		{args: []string{"--api-listen", "127.0.0.1:880O"}, want: "--api-listen"}, // letter O
		{args: []string{"--metrics-listen", "localhost"}, want: "--metrics-listen localhost"},
		// The API's own port (meant as "same as the API", which is empty):
		// not a bind failure naming neither flag, after writing.
		{args: []string{"--api-listen", "127.0.0.1:18800", "--metrics-listen", "127.0.0.1:18800"}, want: "--metrics-listen 127.0.0.1:18800 and --api-listen 127.0.0.1:18800"},
		{args: []string{"--api-listen", "127.0.0.1:18800", "--metrics-listen", ":18800"}, want: "leave --metrics-listen empty"},
	} {
		dir := filepath.Join(t.TempDir(), "data")
		args := c.args
		if c.accounts != "" {
			acc := filepath.Join(t.TempDir(), "accounts.json")
			if err := os.WriteFile(acc, []byte(c.accounts), 0o600); err != nil {
				t.Fatal(err)
			}
			args = []string{"--accounts", acc}
		}
		done := make(chan error, 1)
		go func() {
			done <- serve(append([]string{"--data-dir", dir, "--api-listen", "127.0.0.1:0", "--metrics-listen", "off"}, args...))
		}()
		var err error
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			// Serving: the goroutine ends with the test binary.
			t.Fatalf("serve %v started; want it refused, naming %q", args, c.want)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("serve %v: %v; want it refused, naming %q", args, err, c.want)
		}
		if _, serr := os.Stat(dir); serr == nil {
			t.Errorf("serve %v refused (%v) but created the data dir first", args, err)
		}
	}
}

var (
	serveBinOnce sync.Once
	serveBin     string
	serveBinErr  error
)

// serveBinary builds the command once for the tests that run it as a
// process.
func serveBinary(t *testing.T) string {
	t.Helper()
	serveBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "opengaap-test-bin")
		if err != nil {
			serveBinErr = err
			return
		}
		serveBin = filepath.Join(dir, "opengaap")
		if out, err := exec.Command("go", "build", "-o", serveBin, ".").CombinedOutput(); err != nil {
			serveBinErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if serveBinErr != nil {
		t.Fatalf("build: %v", serveBinErr)
	}
	return serveBin
}

// TestMain removes the binary serveBinary built.
func TestMain(m *testing.M) {
	code := m.Run()
	if serveBin != "" {
		os.RemoveAll(filepath.Dir(serveBin))
	}
	os.Exit(code)
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs the built binary's `serve` as a user would, on a fresh
// data dir (see startServeIn).
func startServe(t *testing.T, flags ...string) (cmd *exec.Cmd, addr, data string, acct cloudapi.Account, log *edgetest.LogBuffer) {
	t.Helper()
	data = filepath.Join(t.TempDir(), "data")
	cmd, addr, acct, log = startServeIn(t, data, flags...)
	return cmd, addr, data, acct, log
}

// startServeIn runs `serve` on data as a user would: without credentials
// in the environment, with a 20 s drain grace (more flags may override
// it). It returns once the API answers, with the generated root account
// and the log so far (written by the process until it ends). The process
// is killed at the test's end.
func startServeIn(t *testing.T, data string, flags ...string) (cmd *exec.Cmd, addr string, acct cloudapi.Account, log *edgetest.LogBuffer) {
	t.Helper()
	addr = freeAddr(t)
	cmd = exec.Command(serveBinary(t), "serve", "--api-listen", addr, "--data-dir", data, "--vip-pool", "127.99.77.0/28", "--drain-grace", "20s")
	cmd.Args = append(cmd.Args, flags...)
	cmd.Env = append(os.Environ(), "TENCENTCLOUD_SECRET_ID=", "TENCENTCLOUD_SECRET_KEY=")
	log = &edgetest.LogBuffer{}
	cmd.Stderr = io.MultiWriter(os.Stderr, log)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

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
			t.Fatalf("serve did not come up with generated credentials; log:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cmd, addr, acct, log
}

// apiClient is a gaap client of the API at addr, as acct.
func apiClient(addr string, acct cloudapi.Account) *gaapsdk.Client {
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Endpoint, cpf.HttpProfile.Scheme = addr, "HTTP"
	c, _ := gaapsdk.NewClient(common.NewCredential(acct.SecretID, acct.SecretKey), "ap-guangzhou", cpf)
	return c
}

// TestServeSIGHUPDrains: SIGHUP (a closing terminal or SSH session, or an
// operator expecting a reload, which serve does not do) stops serve as
// SIGTERM does: logged, open connections drained, exit 0 once they end;
// not Go's default of dying on the spot with nothing logged.
func TestServeSIGHUPDrains(t *testing.T) {
	cmd, addr, _, acct, log := startServe(t)
	conn, _ := openThroughListener(t, apiClient(addr, acct))
	defer conn.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	cmd.Process.Signal(syscall.SIGHUP)
	edgetest.Eventually(t, 5*time.Second, func() bool {
		return strings.Contains(log.String(), `signal="hangup signal received"`) && strings.Contains(log.String(), "connections=1 ")
	}, "no drain line naming SIGHUP; log:\n%s", log)
	select {
	case err := <-done:
		t.Fatalf("serve died on SIGHUP (%v) with a connection open; log:\n%s", err, log)
	case <-time.After(time.Second):
	}
	echo(t, conn, "after SIGHUP")
	conn.Close()
	exitsOnceIdle(t, done, "SIGHUP")
}

// TestServeDrainIgnoresStalledAPIRequest: an API client holding a request
// open (a head and part of a body: no credentials needed) neither keeps the
// data plane accepting after SIGTERM nor eats its --drain-grace: new
// connections are refused at once, an open one is served for the grace,
// and serve exits 0 once both the drain and the API's bounded shutdown
// (the stalled call is cut) are done.
func TestServeDrainIgnoresStalledAPIRequest(t *testing.T) {
	// Under APIShutdownGrace (5 s), which bounds the test's length anyway.
	const grace = 4 * time.Second
	cmd, addr, _, acct, log := startServe(t, "--drain-grace", grace.String())
	c := apiClient(addr, acct)
	conn, access := openThroughListener(t, c)
	defer conn.Close()

	api, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	io.WriteString(api, "POST / HTTP/1.1\r\nHost: gaap.x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	time.Sleep(300 * time.Millisecond) // The request is being served.

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	edgetest.Eventually(t, 5*time.Second, func() bool {
		return strings.Contains(log.String(), "shutting down: draining 1 connections")
	}, "no shutdown line counting the open connection; log:\n%s", log)
	edgetest.Eventually(t, 5*time.Second, func() bool {
		cn, err := net.DialTimeout("tcp", access.String(), time.Second)
		if err == nil {
			cn.Close()
		}
		return err != nil
	}, "the listener %v still accepts new connections after SIGTERM; log:\n%s", access, log)
	echo(t, conn, "during the drain")
	select {
	case err := <-done:
		t.Fatalf("serve exited (%v) after %v, before the %v grace of its open connection", err, time.Since(start), grace)
	case <-time.After(grace - time.Since(start) - 1500*time.Millisecond): // A second and more before the cut.
	}
	echo(t, conn, "late in the drain")
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve exited with %v after %v; want status 0", err, time.Since(start).Round(100*time.Millisecond))
		}
	case <-time.After(grace + 10*time.Second):
		t.Fatalf("serve still running %v after SIGTERM (grace %v)", time.Since(start).Round(100*time.Millisecond), grace)
	}
	if took := time.Since(start); took < grace {
		t.Errorf("serve exited after %v, before the %v grace", took, grace)
	}
}

// TestServeSecondSignalStopsAtOnce: the first SIGINT says what the drain
// waits for (the open connections and UDP sessions, for up to
// --drain-grace) and that a second signal stops at once; the second one
// does, with a connection still open, but not one that comes with the
// first (within signalHoldOff: one stop sent as two signals).
func TestServeSecondSignalStopsAtOnce(t *testing.T) {
	cmd, addr, _, acct, log := startServe(t)
	c := apiClient(addr, acct)
	conn, _ := openThroughListener(t, c)
	defer conn.Close()

	// One stop sent as two (GNU timeout signals the child and its process
	// group): the same stop, not the second that cuts connections.
	sent := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Process.Signal(syscall.SIGINT)
	if gap := time.Since(sent); gap > signalHoldOff/5 {
		// This process stalled between the two: serve may rightly take
		// the second for a second stop. (Skipped before the Wait below:
		// the cleanup's Wait must be the only one.)
		t.Skipf("the two SIGINTs went %v apart; want them back to back, well within signalHoldOff (%v)", gap, signalHoldOff)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	edgetest.Eventually(t, 5*time.Second, func() bool {
		return strings.Contains(log.String(), "connections=1 udp-sessions=0 drain-grace=20s") && strings.Contains(log.String(), "second SIGINT, SIGTERM or SIGHUP stops at once")
	}, "no drain message after SIGINT; log:\n%s", log)
	select {
	case err := <-done:
		t.Fatalf("serve exited (%v) with a connection open after one stop sent as two signals", err)
	case <-time.After(time.Second):
	}
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-done:
		t.Logf("stopped %v after the second signal", time.Since(start))
	case <-time.After(5 * time.Second):
		t.Fatal("serve still running 5 s after a second SIGINT (grace 20 s)")
	}
}

// openThroughListener creates a proxy with a TCP listener bound to an echo
// origin the test starts, and returns a connection through it (checked)
// and the listener's address.
func openThroughListener(t *testing.T, c *gaapsdk.Client) (net.Conn, netip.AddrPort) {
	t.Helper()
	origin := edgetest.StartTCP(t, netip.MustParseAddrPort("127.0.0.1:0"), edgetest.Echo)
	until := func(what string, cond func() bool) {
		t.Helper()
		edgetest.Eventually(t, 20*time.Second, cond, "timed out waiting for %s", what)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	cp := gaapsdk.NewCreateProxyRequest()
	cp.ProjectId, cp.ProxyName, cp.AccessRegion = new(int64(0)), new("drain"), new("SouthChina")
	cp.RealServerRegion, cp.Bandwidth, cp.Concurrent = new("NorthChina"), new(uint64(10)), new(uint64(2))
	pr, err := c.CreateProxy(cp)
	must(err)
	proxy := *pr.Response.InstanceId
	var ip string
	until("proxy running", func() bool {
		d := gaapsdk.NewDescribeProxiesRequest()
		d.ProxyIds = []*string{&proxy}
		r, err := c.DescribeProxies(d)
		must(err)
		if len(r.Response.ProxySet) == 1 && *r.Response.ProxySet[0].Status == "RUNNING" {
			ip = *r.Response.ProxySet[0].IP
			return true
		}
		return false
	})
	ar := gaapsdk.NewAddRealServersRequest()
	ar.ProjectId, ar.RealServerName, ar.RealServerIP = new(uint64(0)), new("echo"), []*string{new("127.0.0.1")}
	rs, err := c.AddRealServers(ar)
	must(err)
	ln, err := net.Listen("tcp", ip+":0") // A free port on the proxy's address.
	must(err)
	port := uint64(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cl := gaapsdk.NewCreateTCPListenersRequest()
	cl.ProxyId, cl.ListenerName, cl.Ports = &proxy, new("drain"), []*uint64{&port}
	cl.Scheduler, cl.RealServerType, cl.HealthCheck = new("rr"), new("IP"), new(uint64(0))
	lr, err := c.CreateTCPListeners(cl)
	must(err)
	listener := lr.Response.ListenerIds[0]
	until("listener created", func() bool {
		d := gaapsdk.NewDescribeTCPListenersRequest()
		d.ListenerId = listener
		r, err := c.DescribeTCPListeners(d)
		must(err)
		return len(r.Response.ListenerSet) == 1 && *r.Response.ListenerSet[0].ListenerStatus == 0
	})
	originPort := uint64(origin.Addr.Port())
	b := gaapsdk.NewBindListenerRealServersRequest()
	b.ListenerId = listener
	b.RealServerBindSet = []*gaapsdk.RealServerBindSetReq{{RealServerId: rs.Response.RealServerSet[0].RealServerId,
		RealServerPort: &originPort, RealServerIP: new("127.0.0.1"), RealServerWeight: new(uint64(1))}}
	_, err = c.BindListenerRealServers(b)
	must(err)
	access := netip.AddrPortFrom(netip.MustParseAddr(ip), uint16(port))
	var conn net.Conn
	until("the listener echoing", func() bool {
		cn, err := net.DialTimeout("tcp", access.String(), time.Second)
		if err != nil {
			return false
		}
		_ = cn.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.WriteString(cn, "x"); err != nil {
			cn.Close()
			return false
		}
		buf := make([]byte, 1)
		if _, err := io.ReadFull(cn, buf); err != nil || buf[0] != 'x' {
			cn.Close()
			return false
		}
		conn = cn
		return true
	})
	return conn, access
}

// echo sends msg on c and checks it comes back.
func echo(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
		t.Fatalf("echo of %q: got %q, %v", msg, buf, err)
	}
}

// TestServeCertNeedsKey: the API's certificate and key go together.
func TestServeCertNeedsKey(t *testing.T) {
	for _, args := range [][]string{{"--api-cert", "c.pem"}, {"--api-key", "k.pem"}} {
		if err := serve(append(args, "--data-dir", t.TempDir())); err == nil || !strings.Contains(err.Error(), "both or neither") {
			t.Errorf("%v: %v; want refused", args, err)
		}
	}
}

// TestServeRestartsWithListenerOnAPIPort: with the API on every address
// (--api-listen 0.0.0.0:P, as a node its users reach is run), a tenant
// creates a TCP listener on port P of its proxy; it cannot bind while the
// node runs. A restart bound the data plane first: the listener took
// ACCESS_IP:P, the API could not bind, and serve refused to start, with
// the listener removable only through the API. The node's own sockets
// are bound first now, and the listener fails to bind, as it did.
func TestServeRestartsWithListenerOnAPIPort(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	cmd, addr, acct, log := startServeIn(t, data, "--vip-pool", "127.66.0.0/28", "--metrics-listen", "off")
	// startServeIn listens on 127.0.0.1:P; restart it on 0.0.0.0:P.
	_, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.ParseUint(portStr, 10, 16)
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	serveOnAll := func(log io.Writer) *exec.Cmd {
		cmd := exec.Command(serveBinary(t), "serve", "--api-listen", "0.0.0.0:"+portStr, "--data-dir", data,
			"--vip-pool", "127.66.0.0/28", "--metrics-listen", "off", "--drain-grace", "1s")
		cmd.Env = append(os.Environ(), "TENCENTCLOUD_SECRET_ID=", "TENCENTCLOUD_SECRET_KEY=")
		cmd.Stderr = log
		return cmd
	}
	cmd = serveOnAll(log)
	stopped, _ := startWaited(t, cmd)
	c := apiClient("127.0.0.1:"+portStr, acct)
	edgetest.Eventually(t, 20*time.Second, func() bool {
		_, err := c.DescribeProxies(gaapsdk.NewDescribeProxiesRequest())
		return err == nil
	}, "serve on 0.0.0.0:%s did not answer; log:\n%s", portStr, log)

	cp := gaapsdk.NewCreateProxyRequest()
	cp.ProjectId, cp.ProxyName, cp.AccessRegion = new(int64(0)), new("apiport"), new("SouthChina")
	cp.RealServerRegion, cp.Bandwidth, cp.Concurrent = new("NorthChina"), new(uint64(10)), new(uint64(2))
	pr, err := c.CreateProxy(cp)
	if err != nil {
		t.Fatal(err)
	}
	proxy := *pr.Response.InstanceId
	edgetest.Eventually(t, 20*time.Second, func() bool {
		d := gaapsdk.NewDescribeProxiesRequest()
		d.ProxyIds = []*string{&proxy}
		r, err := c.DescribeProxies(d)
		return err == nil && len(r.Response.ProxySet) == 1 && *r.Response.ProxySet[0].Status == "RUNNING"
	}, "proxy not running")
	cl := gaapsdk.NewCreateTCPListenersRequest()
	cl.ProxyId, cl.ListenerName, cl.Ports = &proxy, new("onapiport"), []*uint64{&port}
	cl.Scheduler, cl.RealServerType, cl.HealthCheck = new("rr"), new("IP"), new(uint64(0))
	_, err = c.CreateTCPListeners(cl)
	if err != nil {
		return // Refused up front: as good.
	}
	edgetest.Eventually(t, 20*time.Second, func() bool { return strings.Contains(log.String(), "address already in use") },
		"the listener on the API's port bound; log:\n%s", log)

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop; log:\n%s", log)
	}

	// Restart on the same flags.
	relog := &edgetest.LogBuffer{}
	exited, exitErr := startWaited(t, serveOnAll(relog))
	deadline := time.After(20 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("restart on the same flags exited (%v) after one tenant's CreateTCPListeners on the API port; log:\n%s", *exitErr, relog)
		case <-deadline:
			t.Fatalf("restart never answered; log:\n%s", relog)
		case <-time.After(100 * time.Millisecond):
		}
		if _, err := c.DescribeProxies(gaapsdk.NewDescribeProxiesRequest()); err == nil {
			return // serving again
		}
	}
}

// startWaited starts cmd and returns a channel closed once it has exited,
// with the error it exited with (set by then). Its one Wait runs in the
// background, and the test's cleanup kills it and waits for that: a second
// Wait, while the first is in progress, would block for good.
func startWaited(t *testing.T, cmd *exec.Cmd) (<-chan struct{}, *error) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited, err := make(chan struct{}), new(error)
	go func() { *err = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	return exited, err
}

// TestRootUinKeyTakesRootQuota: a second key of the root's Uin in the
// accounts file that leaves AccessIPQuota out has the root's (none), as
// its AppId must be the root's: it was refused as a quota of 0 against
// the root's -1, a figure the operator never wrote.
func TestRootUinKeyTakesRootQuota(t *testing.T) {
	acc := filepath.Join(t.TempDir(), "accounts.json")
	body := `[{"SecretId": "AKIDother0000001", "SecretKey": "k", "AppId": 1250000000, "Uin": "100000000001"}]`
	if err := os.WriteFile(acc, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := server.Check(server.Options{DataDir: t.TempDir(), APIListen: "127.0.0.1:0", MetricsListen: "off",
		VIPPool: "127.99.78.0/28", AccountsFile: acc})
	if err != nil {
		t.Fatal(err)
	}
	root := cloudapi.Account{SecretID: "AKIDroot000000000001", SecretKey: "s", AppID: server.DefaultRootAppID, Uin: server.DefaultRootUin}
	if err := server.CheckAccounts(root, set); err != nil {
		t.Errorf("a root-Uin key without AccessIPQuota: %v; want it taken with the root's quota", err)
	}
}
