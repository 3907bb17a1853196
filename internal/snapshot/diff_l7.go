package snapshot

// addHTTP classifies the HTTP/HTTPS listeners of two snapshots into d, by
// ID, like layer-4 listeners: IDs are unique across both kinds (Validate),
// so one Delta lists them all. A listener changed when its own fields or
// its proxy's ID, AccessIP or Closed flag changed.
func (d *Delta) addHTTP(old, cur *Snapshot) {
	classify(d, indexHTTP(old), indexHTTP(cur))
}

// classify sorts the entries of two indexes by ID into added, removed,
// changed and unchanged; layer-4 and HTTP listeners share it.
func classify[T interface{ equal(T) bool }](d *Delta, ol, nl map[string]T) {
	for id, n := range nl {
		o, ok := ol[id]
		switch {
		case !ok:
			d.Added = append(d.Added, id)
		case o.equal(n):
			d.Unchanged = append(d.Unchanged, id)
		default:
			d.Changed = append(d.Changed, id)
		}
	}
	for id := range ol {
		if _, ok := nl[id]; !ok {
			d.Removed = append(d.Removed, id)
		}
	}
}

func (a PlacedHTTP) equal(b PlacedHTTP) bool {
	return samePlace(a.Proxy, b.Proxy) && a.Listener.Equal(b.Listener)
}

func indexHTTP(s *Snapshot) map[string]PlacedHTTP {
	out := map[string]PlacedHTTP{}
	if s == nil {
		return out
	}
	for _, pl := range s.HTTPListeners() {
		out[pl.Listener.ID] = pl
	}
	return out
}
