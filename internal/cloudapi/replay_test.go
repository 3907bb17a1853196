package cloudapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi/sign"
)

// TestReplaysForgetExpiredCalls: the set must not grow with every v1 call
// ever made; a call is forgotten once its timestamp is out of the window.
func TestReplaysForgetExpiredCalls(t *testing.T) {
	var r replays
	now := time.Unix(1700000000, 0)
	c := newV1Call("AKID", "1", "1700000000", "sig")
	if !r.first(c, now.Add(maxClockSkew), now) || r.first(c, now.Add(maxClockSkew), now) {
		t.Fatal("want the first send accepted and the second refused")
	}
	later := now.Add(2*maxClockSkew + time.Second)
	r.first(newV1Call("AKID", "2", "1700000601", "sig2"), later.Add(maxClockSkew), later)
	if _, ok := r.seen[c]; ok || len(r.seen) != 1 {
		t.Errorf("after the window: %d calls remembered, the expired one included: %v; want only the new one", len(r.seen), ok)
	}
}

var replayAcct = Account{SecretID: "AKIDreplaytest000001", SecretKey: "replaysecret", AppID: 1, Uin: "2001"}

type countReq struct {
	Items []string `json:"Items"`
}

func (*countReq) Validate() error { return nil }

// replayEndpoint serves a "demo" service with one action, Count, limited to
// 20 calls a second.
func replayEndpoint(t *testing.T) (*Endpoint, *httptest.Server) {
	t.Helper()
	accounts, _ := NewAccounts(replayAcct)
	svc := NewService("demo", "2020-01-01")
	Handle(svc, ActionInfo{Name: "Count", RateLimit: 20}, func(_ context.Context, _ *Call, r *countReq) (*struct{ N int }, error) {
		return &struct{ N int }{len(r.Items)}, nil
	})
	e := NewEndpoint(accounts, slog.New(slog.NewTextHandler(io.Discard, nil)), svc)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return e, srv
}

// sendV1 sends a v1 GET of Count with nonce and timestamp ts and returns
// the error code ("" for success).
func sendV1(t *testing.T, srv *httptest.Server, nonce int, ts time.Time) string {
	t.Helper()
	host := strings.TrimPrefix(srv.URL, "http://")
	p := url.Values{"Action": {"Count"}, "Version": {"2020-01-01"}, "Timestamp": {strconv.FormatInt(ts.Unix(), 10)},
		"Nonce": {strconv.Itoa(nonce)}, "SecretId": {replayAcct.SecretID}}
	p.Set("Signature", sign.SignV1(replayAcct.SecretKey, "GET", host, "/", p))
	resp, err := http.Get(srv.URL + "/?" + p.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Response struct{ Error *struct{ Code string } }
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatal(err)
	}
	if env.Response.Error != nil {
		return env.Response.Error.Code
	}
	return ""
}

// TestReplaysHoldOnlyAcceptedCalls: a v1 call enters the replay set only
// once the rate limit accepted it, so the set is bounded by the documented
// rates rather than by how fast a key holder can send, and a call refused
// as RequestLimitExceeded can be sent again unchanged.
func TestReplaysHoldOnlyAcceptedCalls(t *testing.T) {
	e, srv := replayEndpoint(t)
	// 100 calls, and more while none was refused: the bucket (20, and 20
	// a second) refills as long as the calls take, which a stalled run
	// stretches past the 4 s that let 100 through.
	n, limited, firstLimited := 0, 0, 0
	for n < 100 || limited == 0 && n < 1000 {
		n++
		if sendV1(t, srv, n, time.Now()) == "RequestLimitExceeded" {
			limited++
			if firstLimited == 0 {
				firstLimited = n
			}
		}
	}
	e.replays.mu.Lock()
	held := len(e.replays.seen)
	e.replays.mu.Unlock()
	if limited == 0 || held != n-limited {
		t.Fatalf("%d v1 calls, %d refused by the rate limit: the replay set holds %d; want only the accepted ones", n, limited, held)
	}
	time.Sleep(time.Second) // The bucket refills.
	if c := sendV1(t, srv, firstLimited, time.Now()); c != "" {
		t.Errorf("a call refused by the rate limit, sent again: %q; want it accepted", c)
	}
}

// TestReplayAtWindowEdge: the clock is read once per call. Read twice (the
// skew check, then the sweep), a replay at the window's last instant could
// pass the check and find its original swept. The clock here advances
// 1 µs per read, as a real one does while the signature is verified.
func TestReplayAtWindowEdge(t *testing.T) {
	e, srv := replayEndpoint(t)
	ts := time.Now().Truncate(time.Second)
	var clock time.Time
	e.now = func() time.Time { clock = clock.Add(time.Microsecond); return clock }
	// An earlier call ran the last sweep a second before: the next one is
	// due at ts-1s+5min.
	clock = ts.Add(-time.Second)
	if c := sendV1(t, srv, 76, ts.Add(-time.Second)); c != "" {
		t.Fatalf("earlier call: %q", c)
	}
	clock = ts
	if c := sendV1(t, srv, 77, ts); c != "" {
		t.Fatalf("first send: %q", c)
	}
	// The replay's skew check reads exactly ts+5min, inside the window.
	clock = ts.Add(maxClockSkew - time.Microsecond)
	if c := sendV1(t, srv, 77, ts); c == "" {
		t.Fatal("the same signed v1 call was accepted twice: its entry was swept between the skew check and the replay check")
	}
}

// TestSkewWindowInWholeSeconds: the reference expires a timestamp more
// than 5 minutes from the server's time, both in Unix seconds. The check
// compared the whole-second timestamp with the server's fractional time,
// so a client exactly 300 s behind was refused while one 300 s ahead was
// not. A replay in the window's last second still finds its original.
func TestSkewWindowInWholeSeconds(t *testing.T) {
	e, srv := replayEndpoint(t)
	base := time.Unix(1_800_000_000, 0)
	server := base.Add(500 * time.Millisecond)
	e.now = func() time.Time { return server }
	ahead := sendV1(t, srv, 1, base.Add(maxClockSkew))
	behind := sendV1(t, srv, 2, base.Add(-maxClockSkew))
	if ahead != "" || behind != "" {
		t.Errorf("server half-way through Unix second %d: timestamp +300 s: %q, -300 s: %q; want both accepted", base.Unix(), ahead, behind)
	}
	server = base.Add(999 * time.Millisecond)
	if c := sendV1(t, srv, 2, base.Add(-maxClockSkew)); c == "" {
		t.Error("a replay in the last second of its timestamp's window was accepted")
	}
	server = base.Add(time.Second)
	if c := sendV1(t, srv, 3, base.Add(-maxClockSkew)); c != string(apierr.AuthFailureSignatureExpire) {
		t.Errorf("timestamp 301 s behind: %q; want AuthFailure.SignatureExpire", c)
	}
}
