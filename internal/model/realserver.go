package model

// KindRealServer is the stored kind of RealServer.
const KindRealServer = "realserver"

// RealServer is an origin: an IP address or a domain name in a project.
type RealServer struct {
	Base
	Name      string `json:"name"`
	Address   string `json:"address"` // IP or domain name
	IsDomain  bool   `json:"isDomain"`
	ProjectID int64  `json:"projectId"`
	Tags      []Tag  `json:"tags,omitempty"`
}

func (r *RealServer) Kind() string   { return KindRealServer }
func (r *RealServer) Parent() string { return "" }
func (r *RealServer) Project() int64 { return r.ProjectID }

// Type is the API's RealServerType for the origin.
func (r *RealServer) Type() string {
	if r.IsDomain {
		return "DOMAIN"
	}
	return "IP"
}
