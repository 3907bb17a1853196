package resource

// Window returns items[offset:offset+limit], clamped: the page of a list
// the API filtered in memory.
func Window[T any](items []T, offset, limit int) []T {
	if offset >= len(items) {
		return nil
	}
	return items[offset:min(len(items), offset+limit)]
}
