package model

import (
	"slices"
	"testing"
)

func TestOriginIDs(t *testing.T) {
	bs := []Bound{{RealServerID: "rs-a", Port: 80}, {RealServerID: "rs-b", Port: 80}, {RealServerID: "rs-a", Port: 8080}}
	if got, want := OriginIDs(bs), []string{"rs-a:80", "rs-b:80", "rs-a:8080"}; !slices.Equal(got, want) {
		t.Errorf("OriginIDs = %v; want %v", got, want)
	}
	for rs, want := range map[string][]string{"rs-a": {"rs-a:80", "rs-a:8080"}, "rs-b": {"rs-b:80"}, "rs-c": nil} {
		if got := OriginIDsOf(bs, rs); !slices.Equal(got, want) {
			t.Errorf("OriginIDsOf(%s) = %v; want %v", rs, got, want)
		}
	}
}

// TestBindStoredOriginPorts: a group listener whose bindings a release
// before the origin-port check stored on other ports than RealServerPort
// takes those ports again (its stored set can be re-sent), and on one
// such port it is the listener's origin port (OriginPort); other ports
// are still refused.
func TestBindStoredOriginPorts(t *testing.T) {
	o := &RealServer{Base: Base{ID: "rs-a"}, Address: "10.0.0.1"}
	spec := func(port int64) BindSpec { return BindSpec{Origin: o, IP: "10.0.0.1", Port: port} }
	for _, c := range []struct {
		name           string
		stored         []int64
		origin         int64
		taken, refused []int64
	}{
		{"none", nil, 7070, []int64{7070}, []int64{80}},
		{"one other port", []int64{80}, 80, []int64{80}, []int64{81, 7070}},
		{"several ports", []int64{80, 81}, 7070, []int64{80, 81, 7070}, []int64{82}},
	} {
		l := &Listener{Protocol: TCP, RealServerType: "IP", RealServerPort: 7070}
		for _, p := range c.stored {
			l.Bindings = append(l.Bindings, Bound{RealServerID: o.ID, Port: p, Weight: 1})
		}
		if got := l.OriginPort(); got != c.origin {
			t.Errorf("%s: OriginPort %d; want %d", c.name, got, c.origin)
		}
		for _, p := range c.taken {
			if _, err := l.Bind([]BindSpec{spec(p)}, 0); err != nil {
				t.Errorf("%s: port %d refused: %v", c.name, p, err)
			}
		}
		for _, p := range c.refused {
			if _, err := l.Bind([]BindSpec{spec(p)}, 0); err == nil {
				t.Errorf("%s: port %d taken; want refused", c.name, p)
			}
		}
	}
}

// TestOriginIDsStable: a binding's ID depends on the binding alone, so
// reordering the list or unbinding another port of the same server keeps
// the IDs (and with them the sessions, pins, health and counters) of the
// bindings that stay.
func TestOriginIDsStable(t *testing.T) {
	a80, a81 := Bound{RealServerID: "rs-a", Port: 80}, Bound{RealServerID: "rs-a", Port: 81}
	want := map[Bound]string{a80: "rs-a:80", a81: "rs-a:81"}
	for _, bs := range [][]Bound{{a80, a81}, {a81, a80}, {a81}, {a80}} {
		for i, id := range OriginIDs(bs) {
			if id != want[bs[i]] {
				t.Errorf("OriginIDs(%v)[%d] = %q; want %q", bs, i, id, want[bs[i]])
			}
		}
	}
}
