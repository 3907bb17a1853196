package resource

// Window returns items[offset:offset+limit], clamped to items: the page of
// a list the API filtered in memory. offset and limit are not negative
// (cloudapi.Paging sees to it) but may be as large as an int goes: an
// action without a Limit cap takes a huge Limit to mean "all", so the end
// is offset plus the room left, which cannot overflow as offset+limit can.
func Window[T any](items []T, offset, limit int) []T {
	if offset >= len(items) {
		return nil
	}
	return items[offset : offset+min(limit, len(items)-offset)]
}
