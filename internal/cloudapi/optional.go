package cloudapi

// Optional parameters decode to nil pointers when the caller did not send
// them (the SDKs' request structs are all pointers); these read them.

// Value returns *p, or the zero value when p was not sent.
func Value[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// ValueOr returns *p, or def when p was not sent (a sent zero stays zero).
func ValueOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
