// Package vip hands out proxies' access IPs from the operator's --vip-pool.
// Allocation is recorded in the store as a resource of kind "vip" keyed by
// the address, so two proxies can never get the same IP, even across
// concurrent transactions or accounts.
package vip

import (
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/netip"

	"github.com/opengaap/opengaap/internal/store"
)

// Kind is the store kind of an allocation record.
const Kind = "vip"

// ErrExhausted means every address of the pool is taken.
var ErrExhausted = errors.New("vip: address pool exhausted")

// ErrQuota means the account holds as many addresses as its quota allows.
var ErrQuota = errors.New("vip: the account's access IP quota is used up")

// Pool is a CIDR to allocate from. The network address is never handed
// out, nor (with up to 32 host bits) the last one, the IPv4 broadcast; a
// pool needs at least two host bits.
type Pool struct {
	prefix netip.Prefix
	size   uint64 // usable addresses, capped at 1<<32
}

// New parses an IPv4 CIDR such as 127.10.0.0/16. The access IPs (of GAAP
// and teo L4 proxies) are IPv4: an IPv6 pool is refused.
func New(cidr string) (*Pool, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("vip pool %q: %w", cidr, err)
	}
	if !p.Addr().Is4() {
		return nil, fmt.Errorf("vip pool %q is not IPv4: the access IPs are IPv4, give an IPv4 CIDR such as 127.10.0.0/16", cidr)
	}
	p = p.Masked()
	hostBits := p.Addr().BitLen() - p.Bits()
	if hostBits < 2 {
		return nil, fmt.Errorf("vip pool %q is too small", cidr)
	}
	size := uint64(1) << min(hostBits, 32)
	return &Pool{prefix: p, size: size - 2}, nil
}

// Contains reports whether ip belongs to the pool.
func (p *Pool) Contains(ip netip.Addr) bool { return p.prefix.Contains(ip) }

// nth returns the pool's i-th usable address (0-based, after the network address).
func (p *Pool) nth(i uint64) netip.Addr {
	base := new(big.Int).SetBytes(p.prefix.Addr().AsSlice())
	base.Add(base, new(big.Int).SetUint64(i+1))
	b := base.FillBytes(make([]byte, p.prefix.Addr().BitLen()/8))
	a, _ := netip.AddrFromSlice(b)
	return a
}

// DefaultQuota is how many addresses an account may hold unless its
// quota says otherwise: a quarter of the pool (at least one), so that
// no one account, however many proxies it creates, leaves the others
// less than three quarters of it.
func (p *Pool) DefaultQuota() uint64 { return max(1, p.size/4) }

// Allocate reserves a free address for owner inside tx, unless account
// already holds quota addresses (ErrQuota; 0 means DefaultQuota, a
// negative quota no cap). It tries random addresses first (cheap in a
// big, sparse pool) and then scans, so a nearly full pool still finds its
// last free address.
func (p *Pool) Allocate(tx store.Tx, account, owner string, quota int) (netip.Addr, error) {
	if err := p.checkQuota(tx, account, quota); err != nil {
		return netip.Addr{}, err
	}
	for range 32 {
		if ip, ok, err := p.try(tx, account, owner, rand.Uint64N(p.size)); ok || err != nil {
			return ip, err
		}
	}
	for i := range p.size {
		if ip, ok, err := p.try(tx, account, owner, i); ok || err != nil {
			return ip, err
		}
	}
	return netip.Addr{}, ErrExhausted
}

func (p *Pool) checkQuota(tx store.Tx, account string, quota int) error {
	if quota < 0 {
		return nil
	}
	limit := uint64(quota)
	if quota == 0 {
		limit = p.DefaultQuota()
	}
	_, held, err := tx.List(store.Query{Kind: Kind, Account: account, Limit: 1})
	if err != nil {
		return err
	}
	if uint64(held) >= limit {
		return fmt.Errorf("%w: %d of %d held", ErrQuota, held, limit)
	}
	return nil
}

func (p *Pool) try(tx store.Tx, account, owner string, i uint64) (netip.Addr, bool, error) {
	ip := p.nth(i)
	err := tx.Insert(store.Record{Kind: Kind, ID: ip.String(), Account: account, Parent: owner, Data: []byte("{}")})
	if errors.Is(err, store.ErrConflict) {
		return netip.Addr{}, false, nil
	}
	return ip, err == nil, err
}

// Release frees ip.
func Release(tx store.Tx, ip string) error {
	err := tx.Delete(Kind, ip)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}
