package gaap

import (
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// idParam reads a required ID parameter the one way every action reads it
// (docs/api-protocol.md "Resource IDs"): trimmed, since the list,
// statistics and batch actions always have trimmed IDs and clients rely
// on it (a proxy renamed by a padded ID must read back by the same string),
// and left blank it is MissingParameter, as model.ProxyID answers, not a
// lookup of "" that would answer ResourceNotFound.
func idParam(name string, p *string) (string, error) {
	id := trimmed(p)
	if id == "" {
		return "", cloudapi.Missing(name)
	}
	return id, nil
}

// proxyParam loads the proxy a request's ProxyId names.
func proxyParam(tx *resource.Tx, p *string) (*model.Proxy, error) {
	id, err := idParam("ProxyId", p)
	if err != nil {
		return nil, err
	}
	return resource.Get[model.Proxy](tx, id)
}

// listenerParam is listenerOf for the listener a request's ListenerId
// names.
func listenerParam(tx *resource.Tx, p *string, ownerID string, protocols ...string) (*model.Listener, error) {
	id, err := idParam("ListenerId", p)
	if err != nil {
		return nil, err
	}
	return listenerOf(tx, id, ownerID, protocols...)
}
