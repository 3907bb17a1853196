package server_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	vpcsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc/v20170312"

	"github.com/opengaap/opengaap/internal/controller"
	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/xtest"
)

// TestDefaultVpcOutlivesClaimRetention: the marker recording that an
// account's default VPC was made outlives the controller's ClientToken
// expiry (after ClaimRetention), so a later serve does not make the
// default VPC again: no second IsDefault VPC, no deleted one back.
func TestDefaultVpcOutlivesClaimRetention(t *testing.T) {
	mod := xtest.Restartable(t.TempDir(), func(o *server.Options) { o.StatsInterval = time.Hour })
	defaults := func(api *xtest.API) int {
		req := vpcsdk.NewDescribeVpcsRequest()
		req.Filters = []*vpcsdk.Filter{{Name: new("is-default"), Values: []*string{new("true")}}}
		resp, err := api.VPC().DescribeVpcs(req)
		if err != nil {
			t.Fatal(err)
		}
		return len(resp.Response.VpcSet)
	}
	api := xtest.StartAPIWith(t, mod)
	if n := defaults(api); n != 1 {
		t.Fatalf("first call: %d default VPCs; want 1", n)
	}
	// What the controller's expiry job does once ClaimRetention (7 days)
	// has passed since the first VPC call: forget claims made before then.
	if _, err := controller.ExpireClaims(t.Context(), api.Store, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := api.Close(ctx); err != nil {
		t.Fatal(err)
	}
	api2 := xtest.StartAPIWith(t, mod) // a restart, a week later
	if n := defaults(api2); n != 1 {
		t.Fatalf("after the claims' retention and a restart: %d default VPCs; want still 1", n)
	}
}

// TestVpcReadsWhileStoreWriteLocked: after a restart, an account's first
// VPC call finds its default VPC made by a read, not a write transaction,
// so DescribeVpcs answers at once while the store's write lock is held
// elsewhere (an operator's sqlite3 session, a backup), as GAAP reads do;
// it used to wait out SQLite's 10 s busy timeout and fail with
// InternalError.
func TestVpcReadsWhileStoreWriteLocked(t *testing.T) {
	if os.Getenv("OPENGAAP_TEST_STORE") == "postgres" {
		t.Skip("holds SQLite's write lock")
	}
	dir := t.TempDir()
	mod := xtest.Restartable(dir, func(o *server.Options) { o.StatsInterval = time.Hour })
	first := xtest.StartAPIWith(t, mod)
	xtest.DefaultVPC(t, first.VPC()) // the default VPC and its claim exist
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := first.Close(ctx); err != nil {
		t.Fatal(err)
	}
	api := xtest.StartAPIWith(t, mod)

	// Another connection, as another process would, holds the write lock.
	// The server just started may itself be writing (its startup writes run
	// in the background), so this connection waits for the lock as the
	// store's own do instead of failing at once with SQLITE_BUSY.
	db, err := sql.Open("sqlite", filepath.Join(dir, "opengaap.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK")

	start := time.Now()
	resp, err := api.VPC().DescribeVpcs(vpcsdk.NewDescribeVpcsRequest())
	if took := time.Since(start); err != nil || took > 2*time.Second {
		t.Fatalf("DescribeVpcs while the store is write-locked: %v after %v; want the VPC list at once", err, took.Round(time.Millisecond))
	}
	if n := len(resp.Response.VpcSet); n != 1 {
		t.Errorf("DescribeVpcs: %d VPCs; want the default one", n)
	}
}
