package model

// KindErrorPage is the stored kind of ErrorPage.
const KindErrorPage = "errorpage"

// ErrorPage replaces the answers of a domain for some status codes.
type ErrorPage struct {
	Base
	ListenerID   string        `json:"listenerId"`
	Domain       string        `json:"domain"`
	ErrorNos     []int64       `json:"errorNos"`
	NewErrorNo   int64         `json:"newErrorNo"`
	ClearHeaders []string      `json:"clearHeaders,omitempty"`
	SetHeaders   []HeaderParam `json:"setHeaders,omitempty"`
	Body         string        `json:"body"`
	Status       int64         `json:"status"`

	// DomainAsGiven is Domain (its domain's Host) as the caller spelled
	// it (AsGiven).
	DomainAsGiven string `json:"domainAsGiven,omitempty"`
}

func (e *ErrorPage) Kind() string   { return KindErrorPage }
func (e *ErrorPage) Parent() string { return e.ListenerID }
func (e *ErrorPage) Project() int64 { return 0 }

// ShownDomain is the domain Describe answers (AsGiven).
func (e *ErrorPage) ShownDomain() string { return AsGiven(e.DomainAsGiven, e.Domain) }
