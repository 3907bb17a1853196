//go:build !linux

package toa

import "net/netip"

// Writer is unavailable off Linux.
type Writer struct{}

// New reports ErrUnsupported.
func New() (*Writer, error) { return nil, ErrUnsupported }

// Mark is never reached: New fails.
func (w *Writer) Mark(uintptr, netip.AddrPort) error { return ErrUnsupported }

// Close does nothing.
func (w *Writer) Close() error { return nil }
