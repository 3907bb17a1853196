package tfcheck

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/hashicorp/terraform-plugin-sdk/v2/terraform"
	sdkcommon "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentcloudstack/terraform-provider-tencentcloud/tencentcloud/connectivity"
)

// domain is what the provider is configured with; it sends each product to
// <product>.opengaap.test:<port>, and the dialer below takes every such name
// to the opengaap endpoint, so no DNS or /etc/hosts entry is needed.
const domainSuffix = ".opengaap.test"

// meta is the provider meta, built the way the provider's providerConfigure
// builds it (a connectivity.TencentCloudClient with a token credential,
// region, protocol and domain). The provider's root package cannot be
// compiled here (README.md), so its Provider() is not called.
type meta struct {
	c *connectivity.TencentCloudClient
}

func (m *meta) GetAPIV3Conn() *connectivity.TencentCloudClient { return m.c }

var (
	providerMeta *meta
	wire         = &recorder{}
	endpoint     string
)

// recorder replaces http.DefaultTransport, through which the provider's
// LogRoundTripper sends every request: it dials the opengaap endpoint for
// any host under domainSuffix and keeps the last exchanges for reports.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	log  []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := r.base.RoundTrip(req)
	entry := fmt.Sprintf("-> %s %s %s\n   %s", req.Header.Get("X-TC-Action"), req.Header.Get("X-TC-Version"), req.Host, body)
	if err != nil {
		entry += "\n<- error: " + err.Error()
	} else {
		out, _ := io.ReadAll(resp.Body)
		resp.Body = io.NopCloser(bytes.NewReader(out))
		entry += fmt.Sprintf("\n<- %d %s", resp.StatusCode, out)
	}
	r.mu.Lock()
	r.log = append(r.log, entry)
	if len(r.log) > 8 {
		r.log = r.log[len(r.log)-8:]
	}
	r.mu.Unlock()
	return resp, err
}

// recent returns the last n exchanges.
func (r *recorder) recent(n int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.log
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

func TestMain(m *testing.M) {
	endpoint = os.Getenv("OPENGAAP_ENDPOINT")
	if endpoint == "" {
		fmt.Println("OPENGAAP_ENDPOINT unset: run ./run.sh, which starts opengaap; skipping")
		os.Exit(0)
	}
	_, port, err := net.SplitHostPort(endpoint)
	if err != nil {
		fmt.Println("OPENGAAP_ENDPOINT:", err)
		os.Exit(2)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	wire.base = &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil || !strings.HasSuffix(host, domainSuffix) {
				return nil, fmt.Errorf("tfcheck: refusing to dial %s (only *%s goes to opengaap)", addr, domainSuffix)
			}
			return dialer.DialContext(ctx, network, endpoint)
		},
	}
	http.DefaultTransport = wire
	providerMeta = &meta{c: &connectivity.TencentCloudClient{
		Credential: sdkcommon.NewTokenCredential(os.Getenv("TENCENTCLOUD_SECRET_ID"), os.Getenv("TENCENTCLOUD_SECRET_KEY"), ""),
		Region:     "ap-guangzhou",
		Protocol:   "HTTP",
		Domain:     domainSuffix[1:] + ":" + port,
	}}
	code := m.Run()
	writeSummary()
	os.Exit(code)
}

// result is one resource's outcome per step, for the summary.
type result struct {
	steps map[string]string
	order []string
}

var (
	resultsMu sync.Mutex
	results   = map[string]*result{}
	resOrder  []string
)

func record(name, step, outcome string) {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	r := results[name]
	if r == nil {
		r = &result{steps: map[string]string{}}
		results[name] = r
		resOrder = append(resOrder, name)
	}
	if _, ok := r.steps[step]; !ok {
		r.order = append(r.order, step)
	}
	r.steps[step] = outcome
}

func writeSummary() {
	var b strings.Builder
	b.WriteString("| resource | create | read/no drift | update | delete |\n|---|---|---|---|---|\n")
	for _, n := range resOrder {
		r := results[n]
		cell := func(s string) string {
			if v, ok := r.steps[s]; ok {
				return v
			}
			return "-"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", n, cell("create"), cell("read"), cell("update"), cell("delete"))
	}
	fmt.Print("\n" + b.String())
	if p := os.Getenv("TFCHECK_SUMMARY"); p != "" {
		_ = os.WriteFile(p, []byte(b.String()), 0o644)
	}
}

// fail reports a provider error with the last exchanges on the wire, and
// appends both to $TFCHECK_FINDINGS when set.
func fail(t *testing.T, name, step string, err error) {
	t.Helper()
	record(name, step, "FAIL")
	msg := fmt.Sprintf("### %s: %s\n\nprovider error:\n\n```\n%v\n```\n\nlast requests and answers:\n\n```\n%s\n```\n\n", name, step, err, wire.recent(3))
	t.Error(msg)
	if p := os.Getenv("TFCHECK_FINDINGS"); p != "" {
		f, ferr := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if ferr == nil {
			_, _ = f.WriteString(msg)
			_ = f.Close()
		}
	}
}

// res drives one resource's CRUD functions, as Terraform would.
type res struct {
	t     *testing.T
	name  string
	r     *schema.Resource
	cfg   map[string]interface{}
	state *terraform.InstanceState
}

func newRes(t *testing.T, name string, r *schema.Resource, cfg map[string]interface{}) *res {
	return &res{t: t, name: name, r: r, cfg: cfg}
}

// create runs Create on a ResourceData built from the configuration, then a
// fresh Read of the resulting state (Terraform's refresh), then checks that
// planning the same configuration against the refreshed state shows no
// change.
func (x *res) create() bool {
	x.t.Helper()
	d := schema.TestResourceDataRaw(x.t, x.r.Schema, x.cfg)
	if err := x.r.Create(d, providerMeta); err != nil {
		fail(x.t, x.name, "create", err)
		return false
	}
	if d.Id() == "" {
		fail(x.t, x.name, "create", fmt.Errorf("Create returned no error and no ID"))
		return false
	}
	record(x.name, "create", "ok")
	x.state = d.State()
	x.t.Logf("%s created: %s", x.name, d.Id())
	return x.readNoDrift(x.cfg)
}

// readNoDrift refreshes the state and diffs cfg against it.
func (x *res) readNoDrift(cfg map[string]interface{}) bool {
	x.t.Helper()
	d := x.r.Data(x.state)
	if err := x.r.Read(d, providerMeta); err != nil {
		fail(x.t, x.name, "read", err)
		return false
	}
	if d.Id() == "" {
		fail(x.t, x.name, "read", fmt.Errorf("Read found no resource (ID cleared) right after it was created/updated"))
		return false
	}
	x.state = d.State()
	diff, err := x.r.Diff(context.Background(), x.state, terraform.NewResourceConfigRaw(cfg), providerMeta)
	if err != nil {
		fail(x.t, x.name, "read", fmt.Errorf("plan after refresh: %w", err))
		return false
	}
	if diff != nil && !diff.Empty() {
		var lines []string
		for k, a := range diff.Attributes {
			lines = append(lines, fmt.Sprintf("%s: %q => %q (requires new: %v)", k, a.Old, a.New, a.RequiresNew))
		}
		sort.Strings(lines)
		fail(x.t, x.name, "read", fmt.Errorf("drift: planning the same configuration after refresh shows changes:\n%s", strings.Join(lines, "\n")))
		return false
	}
	record(x.name, "read", "ok")
	return true
}

// update applies cfg over the current state (Diff then Apply, which calls
// the resource's Update) and checks it reads back without drift.
func (x *res) update(cfg map[string]interface{}) bool {
	x.t.Helper()
	diff, err := x.r.Diff(context.Background(), x.state, terraform.NewResourceConfigRaw(cfg), providerMeta)
	if err != nil {
		fail(x.t, x.name, "update", fmt.Errorf("plan: %w", err))
		return false
	}
	if diff == nil || diff.Empty() {
		fail(x.t, x.name, "update", fmt.Errorf("the new configuration plans no change"))
		return false
	}
	if diff.RequiresNew() {
		fail(x.t, x.name, "update", fmt.Errorf("the new configuration plans a replacement, not an update"))
		return false
	}
	st, diags := x.r.Apply(context.Background(), x.state, diff, providerMeta)
	if diags.HasError() {
		fail(x.t, x.name, "update", fmt.Errorf("%v", diagErr(diags)))
		return false
	}
	x.state = st
	x.cfg = cfg
	if !x.readNoDrift(cfg) {
		record(x.name, "update", "FAIL (drift after update)")
		return false
	}
	record(x.name, "update", "ok")
	return true
}

func diagErr(d interface{ HasError() bool }) string { return fmt.Sprintf("%+v", d) }

// destroy runs Delete and then Read, which must find the resource gone.
func (x *res) destroy() bool {
	x.t.Helper()
	if x.state == nil {
		return false
	}
	d := x.r.Data(x.state)
	if err := x.r.Delete(d, providerMeta); err != nil {
		fail(x.t, x.name, "delete", err)
		return false
	}
	d = x.r.Data(x.state)
	if err := x.r.Read(d, providerMeta); err != nil {
		fail(x.t, x.name, "delete", fmt.Errorf("Read after Delete: %w", err))
		return false
	}
	if d.Id() != "" {
		fail(x.t, x.name, "delete", fmt.Errorf("Read after Delete still finds %s", d.Id()))
		return false
	}
	record(x.name, "delete", "ok")
	x.state = nil
	return true
}

func (x *res) attr(k string) string { return x.state.Attributes[k] }
