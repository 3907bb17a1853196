// Package vip hands out proxies' access IPs from the operator's --vip-pool
// (IPv4) and --vip-pool-ipv6 (for proxies of IPAddressVersion IPv6).
// Allocation is recorded in the store as a resource of kind "vip" (IPv4)
// or "vip6" keyed by the address, so two proxies can never get the same
// IP, even across concurrent transactions or accounts, and an account's
// quota counts the addresses of each pool apart.
package vip

import (
	"errors"
	"fmt"
	"iter"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/opengaap/opengaap/internal/store"
)

// Kind and Kind6 are the store kinds of an allocation record of an IPv4
// and of an IPv6 pool.
const (
	Kind  = "vip"
	Kind6 = "vip6"
)

// Kinds are the store kinds of allocation records.
var Kinds = []string{Kind, Kind6}

// kindOf is the store kind of an allocation of ip.
func kindOf(ip netip.Addr) string {
	if ip.Is6() {
		return Kind6
	}
	return Kind
}

// kindOfString is kindOf of a stored address; an unparsable one is taken
// for IPv4, whose records predate IPv6 pools.
func kindOfString(ip string) string {
	if a, err := netip.ParseAddr(ip); err == nil {
		return kindOf(a)
	}
	return Kind
}

// ErrExhausted means every address of the pool is taken.
var ErrExhausted = errors.New("vip: address pool exhausted")

// ErrQuota means the account holds as many addresses as its quota allows.
var ErrQuota = errors.New("vip: the account's access IP quota is used up")

// Pool is a CIDR to allocate from. The network address is never handed
// out, nor, in an IPv4 pool, the last one (the broadcast), so an IPv4 pool
// needs at least two host bits. An IPv6 pool has no broadcast and may be
// a single address (/128), which it then hands out. Nor are the node's
// own listen addresses (New's nodeAddrs).
type Pool struct {
	prefix    netip.Prefix
	first     uint64       // index of the first address handed out in the prefix
	size      uint64       // addresses from first on, capped at 1<<32, nodeAddrs among them
	nodeAddrs []netip.Addr // among size but never handed out: the node's own
}

// unusable are the ranges no pool may overlap, each with why: an access IP
// there is no address of the proxy's own. A listener on the unspecified
// address binds the wildcard, taking its port on every local address,
// other proxies' included; multicast and reserved addresses cannot be
// bound for unicast traffic, nor an IPv6 link-local one without a zone.
var unusable = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\", with the unspecified 0.0.0.0"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved, with the broadcast 255.255.255.255"},
	{netip.MustParsePrefix("::/128"), "the unspecified address"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
	{netip.MustParsePrefix("fe80::/10"), "link-local, bound only with a zone"},
}

// checkUnicast refuses a pool that overlaps an unusable range, whole rather
// than skipping those addresses: such a pool is a slip (::/128 for
// ::1/128), better told at start than half used.
func checkUnicast(cidr string, p netip.Prefix) error {
	for _, u := range unusable {
		if p.Overlaps(u.prefix) {
			return fmt.Errorf("vip pool %q overlaps %s (%s): access IPs must be unicast addresses local to this machine, such as 127.10.0.0/16 or fd00:10::/112", cidr, u.prefix, u.why)
		}
	}
	return nil
}

// New parses an IPv4 CIDR such as 127.10.0.0/16, the pool of IPv4 GAAP
// proxies and of teo L4 proxies: an IPv6 CIDR is refused (New6). Those of
// nodeAddrs, the addresses the node's own sockets listen on (--api-listen,
// --metrics-listen), that the pool holds are never handed out: a proxy
// there would offer its clients the node's API and metrics, and its
// listener on their port could never bind.
func New(cidr string, nodeAddrs ...netip.Addr) (*Pool, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("vip pool %q: %w", cidr, err)
	}
	if !p.Addr().Is4() {
		return nil, fmt.Errorf("vip pool %q is not IPv4: give an IPv4 CIDR such as 127.10.0.0/16 (IPv6 proxies' addresses come from --vip-pool-ipv6)", cidr)
	}
	p = p.Masked()
	hostBits := p.Addr().BitLen() - p.Bits()
	if hostBits < 2 {
		return nil, fmt.Errorf("vip pool %q is too small", cidr)
	}
	if err := checkUnicast(cidr, p); err != nil {
		return nil, err
	}
	size := uint64(1) << min(hostBits, 32)
	return (&Pool{prefix: p, first: 1, size: size - 2}).excluding(nodeAddrs), nil
}

// New6 parses an IPv6 CIDR such as fd00:10::/112, the pool of proxies
// whose IPAddressVersion is IPv6. The Subnet-Router anycast (network)
// address is skipped, except in a /128; a pool with an address that is
// not unicast is refused (checkUnicast). nodeAddrs are never handed out,
// as New's.
func New6(cidr string, nodeAddrs ...netip.Addr) (*Pool, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("vip pool %q: %w", cidr, err)
	}
	if !p.Addr().Is6() || p.Addr().Is4In6() {
		return nil, fmt.Errorf("vip pool %q is not IPv6: give an IPv6 CIDR such as fd00:10::/112", cidr)
	}
	p = p.Masked()
	if err := checkUnicast(cidr, p); err != nil {
		return nil, err
	}
	hostBits := p.Addr().BitLen() - p.Bits()
	if hostBits == 0 {
		return (&Pool{prefix: p, size: 1}).excluding(nodeAddrs), nil
	}
	return (&Pool{prefix: p, first: 1, size: uint64(1)<<min(hostBits, 32) - 1}).excluding(nodeAddrs), nil
}

// excluding keeps those of nodeAddrs that p would hand out from being
// handed out.
func (p *Pool) excluding(nodeAddrs []netip.Addr) *Pool {
	for _, ip := range nodeAddrs {
		if ip = ip.Unmap(); p.usable(ip) { // Not twice: then no longer usable.
			p.nodeAddrs = append(p.nodeAddrs, ip)
		}
	}
	return p
}

// isNodeAddr reports whether ip is one of the node's own listen addresses
// the pool holds.
func (p *Pool) isNodeAddr(ip netip.Addr) bool { return slices.Contains(p.nodeAddrs, ip) }

// capacity is how many addresses the pool hands out.
func (p *Pool) capacity() uint64 { return p.size - uint64(len(p.nodeAddrs)) }

// Contains reports whether ip belongs to the pool.
func (p *Pool) Contains(ip netip.Addr) bool { return p.prefix.Contains(ip) }

// nth returns the pool's i-th usable address (0-based).
func (p *Pool) nth(i uint64) netip.Addr {
	base := new(big.Int).SetBytes(p.prefix.Addr().AsSlice())
	base.Add(base, new(big.Int).SetUint64(i+p.first))
	b := base.FillBytes(make([]byte, p.prefix.Addr().BitLen()/8))
	a, _ := netip.AddrFromSlice(b)
	return a
}

// DefaultQuota is how many addresses an account may hold unless its
// quota says otherwise: a quarter of the pool (at least one), so that
// no one account, however many proxies it creates, leaves the others
// less than three quarters of it.
func (p *Pool) DefaultQuota() uint64 { return max(1, p.capacity()/4) }

// Allocate reserves a free address for owner inside tx, unless account
// already holds quota addresses of the pool's family (ErrQuota; 0 means
// DefaultQuota, a negative quota no cap). It hands out an address never
// handed out if there is one, else the one released the longest ago
// (Release). A released address is thus handed out again last: the
// clients of a destroyed proxy (a cached DNS answer, an address written in
// a configuration) would reach the next proxy there, perhaps another
// tenant's. In a pool over smallPool addresses "if there is one" is found
// by random tries, which miss fewer than 1 % of its addresses left fresh
// one time in 170: reading a /16's 65,536 records for the last ones under
// the store's writer lock took tens of milliseconds per proxy, so there
// the oldest release goes first once so few are left.
func (p *Pool) Allocate(tx store.Tx, account, owner string, quota int) (netip.Addr, error) {
	if err := p.checkQuota(tx, account, quota); err != nil {
		return netip.Addr{}, err
	}
	small := p.size <= smallPool
	tries := 512 // Failed inserts, a few microseconds each.
	if small {
		tries = 32 // Then the records are read.
	}
	for range tries {
		if ip, ok, err := p.try(tx, account, owner, rand.Uint64N(p.size)); ok || err != nil {
			return ip, err
		}
	}
	if small {
		if ip, ok, err := p.fresh(tx, account, owner); ok || err != nil {
			return ip, err
		}
	}
	rec, err := p.oldestReleased(tx)
	if err != nil {
		return netip.Addr{}, err
	}
	if rec != nil {
		rec.Account, rec.Parent, rec.Data = account, owner, []byte("{}")
		ip, _ := netip.ParseAddr(rec.ID)
		return ip, tx.Put(*rec)
	}
	if !small {
		if ip, ok, err := p.fresh(tx, account, owner); ok || err != nil {
			return ip, err
		}
	}
	return netip.Addr{}, ErrExhausted
}

// smallPool is the size up to which Allocate reads a pool's records for an
// address never handed out before it takes a released one.
const smallPool = 4096

// fresh takes an address of the pool that has no record (never handed
// out), reading the records at once.
func (p *Pool) fresh(tx store.Tx, account, owner string) (netip.Addr, bool, error) {
	free, err := p.unrecorded(tx)
	if err != nil {
		return netip.Addr{}, false, err
	}
	for i := range free {
		if ip, ok, err := p.try(tx, account, owner, i); ok || err != nil {
			return ip, ok, err
		}
	}
	return netip.Addr{}, false, nil
}

// unrecorded yields the indices of the pool's addresses that have no
// record, reading the records at once.
func (p *Pool) unrecorded(tx store.Tx) (iter.Seq[uint64], error) {
	recs, _, err := tx.List(store.Query{Kind: kindOf(p.prefix.Addr()), AllAccounts: true, NoTotal: true})
	if err != nil {
		return nil, err
	}
	recorded := make(map[string]bool, len(recs))
	for _, r := range recs {
		recorded[r.ID] = true
	}
	return func(yield func(uint64) bool) {
		for i := range p.size {
			if ip := p.nth(i); !recorded[ip.String()] && !p.isNodeAddr(ip) && !yield(i) {
				return
			}
		}
	}, nil
}

// oldestReleased returns the record of the pool's address released the
// longest ago (Release), nil if none.
func (p *Pool) oldestReleased(tx store.Tx) (*store.Record, error) {
	const page = 64
	for off := 0; ; off += page {
		recs, _, err := tx.List(store.Query{Kind: kindOf(p.prefix.Addr()), Parent: released, AllAccounts: true,
			Offset: off, Limit: page, NoTotal: true})
		if err != nil || len(recs) == 0 {
			return nil, err
		}
		for _, r := range recs {
			if ip, err := netip.ParseAddr(r.ID); err == nil && p.usable(ip) { // Not an earlier, other pool's.
				return &r, nil
			}
		}
	}
}

// usable reports whether ip is one of the addresses the pool hands out
// (not its network or broadcast address, nor one of the node's own).
func (p *Pool) usable(ip netip.Addr) bool {
	if !p.prefix.Contains(ip) || p.isNodeAddr(ip) {
		return false
	}
	off := new(big.Int).Sub(new(big.Int).SetBytes(ip.AsSlice()), new(big.Int).SetBytes(p.prefix.Addr().AsSlice()))
	return off.IsUint64() && off.Uint64() >= p.first && off.Uint64() < p.first+p.size
}

// Available reports, writing nothing, whether Allocate for account with
// quota would find an address now: nil, ErrQuota or ErrExhausted. It
// counts only the pool's own addresses: records of an earlier, wider pool
// (the flag changed across a restart) hold none of this one's.
func (p *Pool) Available(tx store.Tx, account string, quota int) error {
	if err := p.checkQuota(tx, account, quota); err != nil {
		return err
	}
	if rec, err := p.oldestReleased(tx); err != nil || rec != nil {
		return err // One released is free (an indexed read).
	}
	_, held, err := tx.List(store.Query{Kind: kindOf(p.prefix.Addr()), AllAccounts: true, Limit: 1})
	if err != nil || uint64(held) < p.capacity() {
		return err // Fewer records than addresses: one is free.
	}
	free, err := p.unrecorded(tx)
	if err != nil {
		return err
	}
	for range free {
		return nil
	}
	return ErrExhausted
}

func (p *Pool) checkQuota(tx store.Tx, account string, quota int) error {
	if quota < 0 {
		return nil
	}
	limit := uint64(quota)
	if quota == 0 {
		limit = p.DefaultQuota()
	}
	_, held, err := tx.List(store.Query{Kind: kindOf(p.prefix.Addr()), Account: account, Limit: 1})
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
	if p.isNodeAddr(ip) {
		return netip.Addr{}, false, nil
	}
	err := tx.Insert(store.Record{Kind: kindOf(ip), ID: ip.String(), Account: account, Parent: owner, Data: []byte("{}")})
	if errors.Is(err, store.ErrConflict) {
		return netip.Addr{}, false, nil
	}
	return ip, err == nil, err
}

// retired is the Parent of the allocation record of an address whose
// proxy is gone while the data plane may still be draining it; the record
// then belongs to no account, so it holds the address without counting
// against the old owner's quota.
const retired = "vip-retired"

// Retire keeps ip, of either pool, out of every allocation until Release,
// once its proxy is gone: its connections drain on it for --drain-grace,
// and another proxy there would take them over. The controller releases
// it when the data plane no longer holds a socket on it. Retiring an
// address with no record does nothing.
func Retire(tx store.Tx, ip string) error {
	rec, err := tx.Get(kindOfString(ip), ip)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	rec.Account, rec.Parent = "", retired
	return tx.Put(rec)
}

// Retired lists the retired addresses of both pools (Retire).
func Retired(tx store.Tx) ([]string, error) {
	var ips []string
	for _, k := range Kinds {
		recs, _, err := tx.List(store.Query{Kind: k, Parent: retired, AllAccounts: true, NoTotal: true})
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			ips = append(ips, r.ID)
		}
	}
	return ips, nil
}

// Holder returns the ID of the proxy ip, of either pool, is allocated to;
// "" if none (never handed out, released, or retired).
func Holder(tx store.Tx, ip netip.Addr) (string, error) {
	rec, err := tx.Get(kindOf(ip), ip.String())
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil || rec.Parent == retired || rec.Parent == released {
		return "", err
	}
	return rec.Parent, nil
}

// released is the Parent of the record of an address free again
// (Release), stamped with the time it was released (Created), so that
// Allocate hands it out again last, the oldest first.
const released = "vip-released"

// Release frees ip, of either pool.
func Release(tx store.Tx, ip string) error {
	kind := kindOfString(ip)
	err := tx.Delete(kind, ip)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return tx.Insert(store.Record{Kind: kind, ID: ip, Parent: released, Created: time.Now().UnixNano(), Data: []byte("{}")})
}
