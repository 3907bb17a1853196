package sqlstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/store"
)

// BenchmarkList measures the API's hottest read: one page of 20 records of
// one account, with the total, as DescribeProxies does. The account owns all
// 10,000 records, the worst case for the COUNT. Reported ns/op is per call
// across all parallel goroutines, so calls/s = 1e9 / ns/op.
func BenchmarkList(b *testing.B) {
	const records = 10_000
	for _, e := range engines(b) {
		b.Run(e.name, func(b *testing.B) {
			e.available(b)
			s := open(b, e.newDB(b))
			seedRecords(b, s, records)
			q := store.Query{Kind: "proxy", Account: "acc-1", Limit: 20, Offset: 40}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					err := s.View(b.Context(), func(tx store.Tx) error {
						recs, total, err := tx.List(q)
						if err == nil && (len(recs) != 20 || total != records) {
							err = fmt.Errorf("List = %d records, total %d", len(recs), total)
						}
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
		})
	}
}

// seedRecords inserts n proxies of account acc-1, a thousand per Update.
func seedRecords(b *testing.B, s *Store, n int) {
	doc := []byte(`{"ProxyId":"link-00000000","ProxyName":"bench","Status":"RUNNING","Bandwidth":10,"Concurrent":2}`)
	for start := 0; start < n; start += 1000 {
		err := s.Update(b.Context(), func(tx store.Tx) error {
			for i := start; i < min(start+1000, n); i++ {
				r := store.Record{Kind: "proxy", ID: fmt.Sprintf("link-%08d", i), Account: "acc-1", Created: int64(i), Data: doc}
				if err := tx.Insert(r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStatsWrite measures the recorder's minute write: 50,000 points
// of distinct series (a large account's busy minute) in one Write, which
// holds the store's writer for its whole length.
func BenchmarkStatsWrite(b *testing.B) {
	const points = 50_000
	for _, e := range engines(b) {
		b.Run(e.name, func(b *testing.B) {
			e.available(b)
			s := open(b, e.newDB(b))
			at := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
			pts := make([]store.Point, points)
			for i := range pts {
				pts[i] = store.Point{Object: fmt.Sprintf("listener-%06d", i), Metric: "InBandwidth", Granularity: 60, Value: float64(i)}
			}
			for b.Loop() {
				at = at.Add(time.Minute)
				for i := range pts {
					pts[i].Time = at
				}
				if err := s.Stats().Write(b.Context(), pts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/write")
		})
	}
}
