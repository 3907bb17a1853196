package server_test

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/server"
)

// TestPostgresSessionsEndedUnderTraffic: while a client makes calls, the
// PostgreSQL server ends every session of the store (what a database
// restart or failover does). The calls that follow must succeed: each
// stale pooled connection must not cost one client an InternalError.
func TestPostgresSessionsEndedUnderTraffic(t *testing.T) {
	if os.Getenv("OPENGAAP_TEST_STORE") != "postgres" {
		t.Skip("needs OPENGAAP_TEST_STORE=postgres (and OPENGAAP_TEST_POSTGRES)")
	}
	var dsn string
	n := startNode(t, func(o *server.Options) { o.NoRateLimits = true; o.LockCheck = 200 * time.Millisecond; dsn = o.StoreDSN })
	proxy, _ := n.proxy()
	u, _ := url.Parse(dsn)
	admin, err := sql.Open("pgx", os.Getenv("OPENGAAP_TEST_POSTGRES"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	call := func(i int) []string {
		var fails []string
		req := gaapsdk.NewModifyProxiesAttributeRequest()
		req.InstanceIds, req.ProxyName = []*string{&proxy}, new(fmt.Sprint("n", i))
		if _, err := n.c.ModifyProxiesAttribute(req); err != nil {
			fails = append(fails, fmt.Sprintf("call %d write: %v", i, err))
		}
		if _, err := n.c.DescribeProxies(gaapsdk.NewDescribeProxiesRequest()); err != nil {
			fails = append(fails, fmt.Sprintf("call %d read: %v", i, err))
		}
		return fails
	}
	// A steady client: a write and a read every 100 ms.
	for i := range 10 {
		if f := call(i); len(f) > 0 {
			t.Fatalf("before: %v", f)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var killed int
	if err := admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1`,
		strings.TrimPrefix(u.Path, "/")).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	t.Logf("terminated the store's %d sessions", killed)
	var fails []string
	for i := 10; i < 30; i++ {
		time.Sleep(100 * time.Millisecond)
		fails = append(fails, call(i)...)
	}
	if len(fails) > 0 {
		t.Fatalf("%d of 40 calls failed after the sessions ended:\n%s", len(fails), strings.Join(fails, "\n"))
	}
}
