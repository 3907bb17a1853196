// Package store defines the persistence contract of the control plane: a
// document store of resources grouped by kind and owned by an account, plus the
// statistics time series, async tasks and idempotency tokens. It knows nothing
// about Tencent error codes; callers translate ErrNotFound and ErrConflict.
package store

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors returned by every implementation. Callers compare with errors.Is.
var (
	// ErrNotFound means no record has the requested key.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means an insert collided with an existing key.
	ErrConflict = errors.New("store: conflict")
	// ErrInvalidKey means a write was given a key (kind, ID, account,
	// parent, claim namespace or token, statistics object or metric) that
	// is not valid UTF-8, holds a NUL byte or is longer than MaxKeyLen. No
	// engine may store such a key (PostgreSQL text cannot hold the first
	// two, its indexes not the last), so no engine does; reads treat such
	// a key as matching nothing. See ValidKey.
	ErrInvalidKey = errors.New("store: key is not valid UTF-8, holds a NUL byte or is too long")
)

// MaxKeyLen is the longest key in bytes: well under what a PostgreSQL
// btree entry holds (2,704 bytes for the widest index, four keys), far
// over any key the API makes (IDs, uins, 64-character client tokens).
const MaxKeyLen = 512

// ValidKey reports whether s can be a stored key: valid UTF-8 without NUL,
// at most MaxKeyLen bytes. Every implementation applies this one rule, so
// a key that cannot exist is a miss on reads and ErrInvalidKey on writes,
// whatever the engine.
func ValidKey(s string) bool {
	return len(s) <= MaxKeyLen && utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// Record is one stored resource. Data is the JSON encoding of the domain object;
// the other fields are indexed columns the store can filter and order on.
type Record struct {
	Kind    string // resource kind, e.g. "proxy", "listener"
	ID      string // globally unique within Kind
	Account string // owner; every query is scoped by it
	Parent  string // owning resource ID ("" when none), e.g. the proxy of a listener
	Project int64  // project ID, for filtering
	Created int64  // Unix nanoseconds; list order is (Created, ID)
	Data    []byte // JSON document
}

// Query selects records of one kind. Zero-valued optional fields do not filter.
type Query struct {
	Kind    string
	Account string   // required unless AllAccounts
	Parent  string   // "" = any parent
	Parents []string // when non-empty: parent in this set
	IDs     []string // when non-empty: ID in this set
	Project *int64   // nil = any project
	Before  int64    // when non-zero: Created < Before (expiring old records)
	Offset  int
	Limit   int  // 0 = no limit
	Desc    bool // newest first: order by (Created, ID) descending
	// AllAccounts lists across accounts; only the controller uses it.
	AllAccounts bool
	// NoTotal: the caller needs no total (List returns 0 for it), which
	// spares a COUNT over every match when the page is full.
	NoTotal bool
}

// Store is the control plane's database. Implementations are safe for
// concurrent use. Update runs fn in one serializable read-write transaction and
// commits durably before returning nil; when fn returns an error the
// transaction rolls back and that error is returned unchanged.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
	// Revision is the number of committed Update transactions that wrote
	// anything; it grows monotonically and survives restarts.
	Revision(ctx context.Context) (int64, error)
	// Stats is the time-series side of the store.
	Stats() Stats
	Close() error
}

// Tx is a transaction. It is not safe for concurrent use and must not be
// used after the function it was passed to returns.
type Tx interface {
	// Get loads one record by kind and ID; ErrNotFound when absent. It does
	// not scope by account: callers check Record.Account.
	Get(kind, id string) (Record, error)
	// List returns the records matching q, ordered by (Created, ID) (or the
	// reverse when q.Desc), and the
	// total number matching q without Offset/Limit.
	List(q Query) (recs []Record, total int, err error)
	// Insert adds a record; ErrConflict when Kind+ID exists, ErrInvalidKey
	// when a key fails ValidKey. Created is set to the current time when zero.
	Insert(r Record) error
	// Put replaces an existing record (ErrNotFound when absent), keeping Created.
	Put(r Record) error
	// Delete removes a record; ErrNotFound when absent.
	Delete(kind, id string) error
	// Claim records a unique token (ClientToken idempotency, say) in a
	// namespace; ErrConflict when it was already claimed, ErrInvalidKey
	// when namespace or token fails ValidKey.
	Claim(namespace, token string) error
	// Claimed reports whether token is claimed in namespace. It works in
	// View, so a caller that only needs a claim made once (a marker) can
	// check it without taking the write lock.
	Claimed(namespace, token string) (bool, error)
	// ExpireClaims deletes up to limit claims made before before (Unix
	// nanoseconds) in the namespaces starting with prefix, oldest first,
	// and returns how many it deleted: their tokens can be claimed again.
	// Claims of other namespaces are untouched: a claim can be a marker
	// that must last.
	ExpireClaims(prefix string, before int64, limit int) (int, error)
}

// Point is one sample of a statistics series.
type Point struct {
	Object      string // resource ID: proxy, group, listener, rule or origin
	Metric      string // e.g. "InBandwidth"
	Granularity int    // seconds: 60, 300, 3600 or 86400
	Time        time.Time
	Value       float64
}

// Stats stores per-object metric series. Write upserts points (same Object,
// Metric, Granularity, Time replaces the value). Query returns the points of
// one series in [from, to], ordered by time. At returns every point of a
// granularity stamped at, in no order. Range returns every point of a
// granularity with from <= Time < to, of all series, oldest first (in no
// order within one time): one read for the statistics rollups of all
// series. QueryPrefix is Query for every series of metric whose object
// starts with prefix, ordered by object (as bytes) then time: how a
// caller finds series it cannot name, such as those of a real server's
// former bindings. Prune deletes points of a granularity older than
// before.
type Stats interface {
	Write(ctx context.Context, pts []Point) error
	Query(ctx context.Context, object, metric string, granularity int, from, to time.Time) ([]Point, error)
	QueryPrefix(ctx context.Context, prefix, metric string, granularity int, from, to time.Time) ([]Point, error)
	At(ctx context.Context, granularity int, at time.Time) ([]Point, error)
	Range(ctx context.Context, granularity int, from, to time.Time) ([]Point, error)
	Prune(ctx context.Context, granularity int, before time.Time) error
}
