package snapshot

import (
	"strconv"
	"strings"
)

// One stored object can run as several compiled listeners, and the data
// plane reports (statuses, counters, origin health) per compiled
// listener; these functions are the one grammar of those IDs, so the
// controller that names them and the readers that trace reports back to
// stored objects cannot drift apart:
//
//	listener@proxy       a group listener's instance on one member proxy
//	rule/port            an EdgeOne rule's listener for one of its ports
//	<listener ID>/origin a binding's health (edge.Runtime.Health)

// GroupInstanceID names a group listener's instance on one of its proxies.
func GroupInstanceID(listenerID, proxyID string) string { return listenerID + "@" + proxyID }

// PortInstanceID names the listener of one port of an EdgeOne rule.
func PortInstanceID(ruleID string, port int) string { return ruleID + "/" + strconv.Itoa(port) }

// ObjectOf returns the stored object a compiled listener's ID runs for:
// the group listener of an instance, the rule of a port, else the ID.
func ObjectOf(id string) string {
	id, _, _ = strings.Cut(id, "@")
	id, _, _ = strings.Cut(id, "/")
	return id
}

// WithoutProxy drops a group instance's "@proxy" from an ID and keeps the
// rest, so a binding's health key names the group listener's binding.
func WithoutProxy(id string) string {
	at := strings.IndexByte(id, '@')
	if at < 0 {
		return id
	}
	if slash := strings.IndexByte(id[at:], '/'); slash >= 0 {
		return id[:at] + id[at+slash:]
	}
	return id[:at]
}

// HealthKey names the health of origin as bound to binding (a compiled
// listener or an HTTP rule).
func HealthKey(binding, origin string) string { return binding + "/" + origin }
