package model

import (
	"testing"
	"time"
)

func TestStatsBucket(t *testing.T) {
	at := time.Date(2026, 11, 23, 1, 7, 30, 0, StatsZone) // 2026-11-22 17:07:30 UTC
	for _, tc := range []struct {
		gran int
		want time.Time
	}{
		{60, time.Date(2026, 11, 23, 1, 7, 0, 0, StatsZone)},
		{300, time.Date(2026, 11, 23, 1, 5, 0, 0, StatsZone)},
		{3600, time.Date(2026, 11, 23, 1, 0, 0, 0, StatsZone)},
		{86400, time.Date(2026, 11, 23, 0, 0, 0, 0, StatsZone)}, // Beijing midnight, not UTC's.
	} {
		if got := StatsBucket(at, tc.gran); !got.Equal(tc.want) {
			t.Errorf("StatsBucket(%s, %d) = %s; want %s", at, tc.gran, got.In(StatsZone), tc.want)
		}
	}
	// The spec's example point of a day.
	if got := StatsBucket(time.Unix(1735056000+3600, 0), 86400).Unix(); got != 1735056000 {
		t.Errorf("day of 1735056000 + 1 h starts at %d; want 1735056000", got)
	}
}
