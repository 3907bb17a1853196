package controller

import (
	"context"
	"slices"

	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/vip"
)

// AddressHolder is an Applier that can tell which local addresses its data
// plane still holds sockets on, serving or draining (edge.Node.Addresses).
type AddressHolder interface {
	Addresses() []string
}

// reclaim returns to the pool the retired access IPs (vip.Retire) the data
// plane holds no socket on any more: a removed proxy's connections drain
// on its address for --drain-grace, and a new proxy handed that address
// meanwhile would serve, or cut, another tenant's clients. It runs every
// pass, before the revision check, so a drain that ends frees its address
// within a tick even when nothing else changes. With no AddressHolder no
// traffic runs, and every retired address is free at once.
func (c *Controller) reclaim(ctx context.Context) error {
	var ips []string
	err := c.store.View(ctx, func(tx store.Tx) (err error) {
		ips, err = vip.Retired(tx)
		return err
	})
	if err != nil || len(ips) == 0 {
		return err
	}
	var held []string
	if h, ok := c.applier.(AddressHolder); ok {
		held = h.Addresses()
	}
	ips = slices.DeleteFunc(ips, func(ip string) bool { return slices.Contains(held, ip) })
	if len(ips) == 0 {
		return nil
	}
	return c.store.Update(ctx, func(tx store.Tx) error {
		// Only those still retired: nothing else frees them, but the
		// list was read outside this transaction.
		still, err := vip.Retired(tx)
		if err != nil {
			return err
		}
		for _, ip := range ips {
			if !slices.Contains(still, ip) {
				continue
			}
			if err := vip.Release(tx, ip); err != nil {
				return err
			}
		}
		return nil
	})
}
