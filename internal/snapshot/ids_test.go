package snapshot

import "testing"

func TestInstanceIDs(t *testing.T) {
	group, port := GroupInstanceID("listener-1", "link-a"), PortInstanceID("sid-1", 8080)
	cases := []struct{ id, object, withoutProxy string }{
		{"listener-1", "listener-1", "listener-1"},
		{group, "listener-1", "listener-1"},
		{HealthKey(group, "rs-1"), "listener-1", "listener-1/rs-1"},
		{HealthKey("listener-1", "rs-1"), "listener-1", "listener-1/rs-1"},
		{port, "sid-1", port},
		{HealthKey(port, "og-1"), "sid-1", port + "/og-1"},
	}
	for _, c := range cases {
		if got := ObjectOf(c.id); got != c.object {
			t.Errorf("ObjectOf(%q) = %q; want %q", c.id, got, c.object)
		}
		if got := WithoutProxy(c.id); got != c.withoutProxy {
			t.Errorf("WithoutProxy(%q) = %q; want %q", c.id, got, c.withoutProxy)
		}
	}
}
